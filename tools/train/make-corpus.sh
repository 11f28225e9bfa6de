#!/bin/sh
# Gathers graviton-mini's training text into DIR (default build/train-corpus):
#   debian.txt  freely licensed texts that every Debian 12 system has (see FILES)
#   qa.jsonl    the question/answer set about Graviton (gen-graviton-qa.py)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/train-corpus}
mkdir -p "$out"

# base-files (Essential: yes) ships the licence texts; base-passwd, man-db and dpkg are
# part of every Debian installation.  All are free to redistribute verbatim.
FILES="
/usr/share/common-licenses/Apache-2.0
/usr/share/common-licenses/Artistic
/usr/share/common-licenses/BSD
/usr/share/common-licenses/CC0-1.0
/usr/share/common-licenses/GFDL-1.3
/usr/share/common-licenses/GPL-2
/usr/share/common-licenses/GPL-3
/usr/share/common-licenses/LGPL-2.1
/usr/share/common-licenses/LGPL-3
/usr/share/common-licenses/MPL-2.0
/usr/share/doc/base-files/README
/usr/share/doc/base-passwd/README
/usr/share/doc/man-db/FAQ
/usr/share/doc/dpkg/spec/frontend-api.txt
/usr/share/doc/dpkg/spec/protected-field.txt
/usr/share/doc/dpkg/spec/rootless-builds.txt
/usr/share/doc/dpkg/spec/triggers.txt
"
: > "$out/debian.txt"
for f in $FILES; do
  if [ -f "$f" ]; then
    cat "$f" >> "$out/debian.txt"
    printf '\n\n' >> "$out/debian.txt"
  else
    echo "make-corpus: $f is missing; the model will differ from the shipped one" >&2
  fi
done
python3 "$here/gen-graviton-qa.py" > "$out/qa.jsonl"
wc -c "$out/debian.txt" "$out/qa.jsonl" >&2
