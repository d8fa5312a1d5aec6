#!/usr/bin/env bash
# tests/deps/check-layout.sh: the include rules of CONTRIBUTING.md "Layout",
# checked over every C file git tracks: each quoted include is relative to
# the project root (never "../", and it names a file of the tree or a
# system header found by -I); common/ includes nothing from job/ or
# operator/; the operator nothing from job/; only job/cmd/ includes job/cmd/.
# One check a rule, recorded with tests/lib/t.sh (T_SUITE=deps).
#   tests/deps/check-layout.sh [ROOT]   # default: this checkout
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
export T_SUITE=${T_SUITE:-deps}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/t.sh
source "$here/../lib/t.sh"
cd "$root"

mapfile -t files < <(git ls-files '*.c' '*.h')
if [[ ${#files[@]} -lt 100 ]]; then
	t_fail "layout: the C files of the tree are found" "only ${#files[@]}"
	exit 1
fi
# FILE:LINE:INCLUDED for every quoted include.
includes=$(grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "${files[@]}" |
	sed -E 's/^([^:]+):([0-9]+):.*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2:\3/')

# rule NAME AWK-CONDITION: fails listing the first includes that match
# (awk reads them all: no reader that stops early under pipefail).
rule() {
	local bad
	bad=$(awk -F: "($2) && n++ < 5" <<<"$includes")
	if [[ -z $bad ]]; then t_pass "layout: $1"; else t_fail "layout: $1" "$bad"; fi
}
rule "no include climbs with ../ (all are relative to the project root)" '$3 ~ /(^|\/)\.\.\//'
missing=$(while IFS=: read -r f l inc; do
	[[ -e $inc ]] || echo "$f:$l: \"$inc\""
done <<<"$includes" | awk 'n++ < 5')
if [[ -z $missing ]]; then t_pass "layout: every quoted include names a file from the project root"; else t_fail "layout: every quoted include names a file from the project root" "$missing"; fi
rule "common/ includes nothing from job/ or operator/" '$1 ~ /^common\// && $3 ~ /^(job|operator)\//'
rule "operator/ includes nothing from job/" '$1 ~ /^operator\// && $3 ~ /^job\//'
rule "only job/cmd/ includes job/cmd/" '$1 ~ /^job\// && $1 !~ /^job\/cmd\// && $3 ~ /^job\/cmd\//'
n=$(wc -l <<<"$includes")
t_true "layout: the quoted includes were read ($n)" test "$n" -gt 500
