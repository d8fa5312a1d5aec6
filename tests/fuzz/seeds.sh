#!/usr/bin/env bash
# tests/fuzz/seeds.sh: regenerates the binary seeds of tests/fuzz/corpus/
# (the text seeds are copied by hand from the unit tests and kept as they
# are). Run from anywhere; rewrites only these folders:
#   openpgp_decrypt/  gpg --symmetric output for the fuzz passphrase, with
#                     the option sets tests/unit/test_openpgp.c checks
#                     (S2K counts at gpg's smallest, 65536, to keep runs fast)
#   openpgp_inner/    packets as they lie inside the encryption: Literal
#                     Data, ZIP and ZLIB Compressed Data, a Marker, partial
#                     lengths, an old-format header
#   tz/               TZif files from /usr/share/zoneinfo and footer-only
#                     files with the POSIX rules tests/unit/test_tz.c checks
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus=$root/tests/fuzz/corpus
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
home=$(mktemp -d /tmp/lifeboat-seeds.XXXXXX)
trap 'gpgconf --homedir "$home" --kill gpg-agent >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
chmod 700 "$home"
printf 'fuzz passphrase' >"$home/pass"
printf 'lifeboat fuzz seed: a small plaintext that compresses; lifeboat fuzz seed.\n' >"$home/plain"

# --- openpgp_decrypt ---
dir=$corpus/openpgp_decrypt
rm -rf "$dir"
mkdir -p "$dir"
gpg_sym() { # name, options...
	local name=$1
	shift
	gpg --homedir "$home" --batch --yes --quiet --no-tty --no-symkey-cache \
		--pinentry-mode loopback --passphrase-file "$home/pass" \
		--symmetric "$@" -o "$dir/$name.pgp" "$home/plain"
}
gpg_sym aes256-zip --cipher-algo AES256 --s2k-count 65536
gpg_sym aes256-zlib --cipher-algo AES256 --compress-algo zlib --s2k-count 65536
gpg_sym aes256-none --cipher-algo AES256 --compress-algo none --s2k-count 65536
gpg_sym aes256-sha512 --cipher-algo AES256 --s2k-digest-algo SHA512 --s2k-count 65536
gpg_sym aes256-sha256 --cipher-algo AES256 --s2k-digest-algo SHA256 --s2k-count 65536
gpg_sym aes192-sha224 --cipher-algo AES192 --s2k-digest-algo SHA224 --s2k-count 65536
gpg_sym aes128-sha384 --cipher-algo AES128 --s2k-digest-algo SHA384 --s2k-count 65536
gpg_sym s2k-salted --cipher-algo AES256 --s2k-mode 1
gpg_sym s2k-simple --cipher-algo AES256 --s2k-mode 0
gpg_sym 3des --cipher-algo 3DES --s2k-count 65536
gpg_sym camellia256 --cipher-algo CAMELLIA256 --s2k-count 65536
gpg_sym bzip2 --cipher-algo AES256 --compress-algo bzip2 --s2k-count 65536
# From a pipe gpg writes partial body lengths.
gpg --homedir "$home" --batch --yes --quiet --no-tty --no-symkey-cache \
	--pinentry-mode loopback --passphrase-file "$home/pass" \
	--symmetric --cipher-algo AES256 --compress-algo none --s2k-count 65536 \
	-o "$dir/stdin-partial.pgp" <"$home/plain"

# --- openpgp_inner and tz: Python (standard library) ---
"$PY" - "$corpus" <<'PYEOF'
import os, struct, sys, zlib

corpus = sys.argv[1]

def new_len(n):
    if n < 192:
        return bytes([n])
    if n < 8384:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xff])
    return b"\xff" + struct.pack(">I", n)

def packet(tag, body):
    return bytes([0xc0 | tag]) + new_len(len(body)) + body

def literal(data, name=b"", fmt=b"b"):
    return packet(11, fmt + bytes([len(name)]) + name + b"\0\0\0\0" + data)

def compressed(algo, inner):
    if algo == 1:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        z = c.compress(inner) + c.flush()
    elif algo == 2:
        z = zlib.compress(inner)
    else:
        z = inner
    return packet(8, bytes([algo]) + z)

text = b"lifeboat fuzz seed: a small plaintext that compresses; lifeboat fuzz seed.\n"
d = os.path.join(corpus, "openpgp_inner")
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):
    os.remove(os.path.join(d, f))
seeds = {
    "literal-binary": literal(text),
    "literal-name": literal(text, b"db.dump", b"t"),
    "literal-empty": literal(b""),
    "zip": compressed(1, literal(text)),
    "zlib": compressed(2, literal(text)),
    "uncompressed": compressed(0, literal(text)),
    "marker-literal": packet(10, b"PGP") + literal(text),
    # A partial body: 1 byte, 2 bytes, then the rest.
    "literal-partial": bytes([0xcb, 0xe0]) + (b"b\0\0\0\0\0" + text)[:1] + bytes([0xe1]) + (b"b\0\0\0\0\0" + text)[1:3] + new_len(len(text) + 6 - 3) + (b"b\0\0\0\0\0" + text)[3:],
    "one-pass-signature": packet(4, b"\x03\x00\x08\x01" + b"\x11" * 8 + b"\x01") + literal(text),
}
# Old format, indeterminate length, as gpg writes its compressed packets.
c = zlib.compressobj(6, zlib.DEFLATED, -15)
seeds["old-indeterminate"] = bytes([0x80 | (8 << 2) | 3, 1]) + c.compress(literal(text)) + c.flush()
for name, body in seeds.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(body)

# --- tz: real files, and footer-only version 3 files ---
d = os.path.join(corpus, "tz")
os.makedirs(d, exist_ok=True)
for f in os.listdir(d):
    os.remove(os.path.join(d, f))
for zone in ["UTC", "Europe/Stockholm", "America/New_York", "Asia/Kathmandu",
             "Australia/Lord_Howe", "Pacific/Apia", "America/Sao_Paulo", "Africa/Casablanca"]:
    src = os.path.join("/usr/share/zoneinfo", zone)
    if os.path.exists(src):
        with open(src, "rb") as f, open(os.path.join(d, zone.replace("/", "-")), "wb") as g:
            g.write(f.read())

def tzif_footer_only(footer, version=b"3"):
    # One local time type (UTC, no DST), no transitions: a v1 header and
    # empty body, then the v2+ header and body, then "\n" footer "\n".
    def block(timesize):
        hdr = b"TZif" + version + b"\0" * 15 + struct.pack(">6I", 0, 0, 0, 0, 1, 4)
        body = struct.pack(">lBB", 0, 0, 0) + b"UTC\0"
        return hdr + body
    return block(4) + block(8) + b"\n" + footer.encode() + b"\n"

rules = ["AAA5BBB,M3.2.0,M11.1.0", "CET-1CEST,M3.5.0,M10.5.0/3",
         "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
         "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "IST-2IDT,M3.4.4/26,M10.5.0", "AAA3BBB,J60/2,J300/2",
         "AAA-1BBB,59/2,300/2", "AAA-1BBB,0/5,364/2", "<+0545>-5:45", "AAA-3:30:15",
         "AAA+4BBB+2:30,M4.1.0/167,M9.5.0/-167", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
         "AAA-10BBB-11,M10.5.6/23:59:59,M3.5.6/1:00:01", "EST5EDT,0/0,J365/25"]
for i, r in enumerate(rules):
    with open(os.path.join(d, "footer-%02d" % i), "wb") as f:
        f.write(tzif_footer_only(r))
PYEOF
echo "seeds: $(find "$corpus/openpgp_decrypt" "$corpus/openpgp_inner" "$corpus/tz" -type f | wc -l) files written"
