# Lifeboat: one non-recursive Makefile. `make test` does all set-up itself.
VERSION := 0.1.0
CC ?= cc
BUILD ?= build
SAN ?=

WARN := -std=c17 -Wall -Wextra -Werror -pedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wvla -Wimplicit-fallthrough
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
PKGS := libcurl json-c yaml-0.1 libpq openssl libzstd zlib libwebsockets
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# SAN=1 is the test build (build/asan): ASan+UBSan, and the schedules' test
# clock (LIFEBOAT_TEST_CLOCK_FILE, docs/schedules.md), which release builds
# do not have.
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-DLIFEBOAT_TEST_CLOCK
HARDEN :=
else
OPT := -O2 -g
endif

CFLAGS := $(WARN) $(OPT) $(HARDEN) -I. -D_GNU_SOURCE -DLIFEBOAT_VERSION='"$(VERSION)"' -MMD -MP $(PKG_CFLAGS)
LDFLAGS := $(OPT) -Wl,-z,relro,-z,now -pthread
LDLIBS = $(PKG_LIBS) -lpthread

COMMON_SRC := $(wildcard common/*.c)
JOB_SRC := $(filter-out job/cmd/main.c,$(wildcard job/*/*.c))
KUBE_SRC := $(wildcard operator/kube/*.c)
# The operator: everything under operator/ but its main and the kube client.
OPER_SRC := $(filter-out operator/main.c,$(wildcard operator/*.c operator/api/*.c operator/controller/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
JOB_OBJ := $(JOB_SRC:%.c=$(BUILD)/%.o)
KUBE_OBJ := $(KUBE_SRC:%.c=$(BUILD)/%.o)
OPER_OBJ := $(OPER_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit integration asan valgrind bench demo clean format format-check analyze fresh-check images images-test config fuzz fuzz-build

all: $(BUILD)/lifeboat $(if $(wildcard operator/main.c),$(BUILD)/lifeboat-operator)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/lifeboat: $(BUILD)/job/cmd/main.o $(JOB_OBJ) $(COMMON_OBJ)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/lifeboat-operator: $(BUILD)/operator/main.o $(OPER_OBJ) $(KUBE_OBJ) $(COMMON_OBJ)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(JOB_OBJ) $(OPER_OBJ) $(KUBE_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/kubetool: $(BUILD)/tests/kube/kubetool.o $(OPER_OBJ) $(KUBE_OBJ) $(COMMON_OBJ)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzzing (tests/fuzz/, docs/testing.md "Fuzzing"): libFuzzer targets built
# with clang under ASan+UBSan into $(BUILD)/fuzz/. The library objects are
# compiled again by clang with coverage instrumentation (fuzzer-no-link) into
# $(BUILD)/fuzz/obj/ and archived, so each target links only what it uses;
# tests/fuzz/fake_http.c comes first and stands in for common/http.c.
FUZZ_CC ?= clang
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -I. -D_GNU_SOURCE \
	-DLIFEBOAT_VERSION='"$(VERSION)"' -MMD -MP $(PKG_CFLAGS)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_HELPER_OBJ := $(FUZZ_BUILD)/obj/tests/fuzz/fuzz.o $(FUZZ_BUILD)/obj/tests/fuzz/fake_http.o
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(COMMON_SRC) $(JOB_SRC) $(KUBE_SRC) $(OPER_SRC))
FUZZ_LIB := $(FUZZ_BUILD)/liblifeboat.a
# Kept: make would delete them as intermediates of the pattern rule below.
.SECONDARY: $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC [fuzz] $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_HELPER_OBJ) $(FUZZ_LIB)
	@echo "  LD $@"
	@$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# Each target for FUZZ_SECONDS (default 60) from its seed corpus and what
# earlier runs found ($(BUILD)/fuzz/corpus/NAME); FUZZ_TARGETS="cron tz"
# picks some. `make test` runs them for a fixed number of inputs instead.
fuzz: deps $(FUZZ_BIN)
	@FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh --seconds $${FUZZ_SECONDS:-60} $${FUZZ_TARGETS:-}

# Idempotent set-up on Debian: installs only what is missing.
deps:
	@tests/setup-deps.sh

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(BUILD)/tests $(UNIT_BIN)

integration: $(BUILD)/lifeboat
	@LIFEBOAT=$(abspath $(BUILD)/lifeboat) tests/integration/run.sh

# Everything: set-up, build, unit + integration, then all again under
# ASan+UBSan, then valgrind over the pipeline; ends with one summary line.
test: deps
	@tests/run-all.sh




# bench/primitives: the cost of the job's primitives on the same bytes
# (bench/run.sh sets the job's CPU against it).
$(BUILD)/bench-primitives: bench/primitives.c
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LDLIBS)

bench: deps all $(BUILD)/kubetool $(BUILD)/bench-primitives
	@bench/run.sh $(abspath $(BUILD)/lifeboat) $(abspath $(BUILD)/bench-primitives)
	@bench/kube.sh $(abspath $(BUILD)/kubetool)
	@bench/s3.sh $(abspath $(BUILD)/lifeboat)
	@bench/operator.sh $(abspath $(BUILD))
	@bench/list.sh $(abspath $(BUILD)/lifeboat)

demo: deps all
	@tests/demo.sh $(abspath $(BUILD)/lifeboat)

# config/: the plain manifests (kustomize) rendered from charts/lifeboat;
# run after changing the chart (tests/kustomize/run.sh checks they match).
config:
	@config/generate.sh

# Container images (Dockerfile; docs/images.md): `images` builds the operator
# and job targets with buildah (as root; on a local debootstrap base unless
# BASE_IMAGE is set, PG_MAJOR picks the job's PostgreSQL client);
# `images-test` is tests/images/run.sh (builds, checks, reproducibility, a
# backup by the job image on the test cluster; about 10 minutes).
images:
	@tests/images/build.sh

images-test: $(BUILD)/lifeboat
	@LIFEBOAT=$(abspath $(BUILD)/lifeboat) tests/images/run.sh

# `make test` and `make demo` inside a fresh debootstrap minbase of bookworm
# (as root; ten minutes or more): finds what the set-up forgets to install.
fresh-check:
	@tests/fresh-check.sh

# Every C file of the tree.
FORMAT_SRC = $(sort $(wildcard common/*.[ch] job/*/*.[ch] operator/*.[ch] operator/*/*.[ch] tests/*/*.[ch] bench/*.[ch]))

format:
	clang-format -i $(FORMAT_SRC)

# gcc -fanalyzer over every C file of the tree (the flags of the normal
# build, warnings as errors); part of make test.
ANALYZE_SRC = $(sort $(COMMON_SRC) job/cmd/main.c $(JOB_SRC) $(KUBE_SRC) operator/main.c $(OPER_SRC) \
	$(UNIT_SRC) $(wildcard tests/kube/*.c bench/*.c))
analyze:
	@n=0; for f in $(ANALYZE_SRC); do \
		$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -fanalyzer -c $$f -o /dev/null || n=$$((n + 1)); \
	done; echo "gcc -fanalyzer: $(words $(ANALYZE_SRC)) files, $$n with findings"; test $$n -eq 0

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
