#!/usr/bin/env bash
# Rebuilds the sample class from the course's own sources, so it follows the
# course as it changes:
#   examples/class/make-class.sh [OUT_DIR]     (default: examples/class)
#
# Each student folder is shaped like a student's clone of the exported
# repository (exercises/NN-topic/src/...), with only what the grader takes.
#   ada-complete     every exercise solved
#   ben-partial      three exercises solved, two left as stubs, the rest absent
#   cleo-racy        solved, but with races: a lost update (02) and `if` instead
#                    of `while` around a condition-variable wait (06)
#   dev-deadlock     solved, but two locks taken in opposite orders (02) and a
#                    reentrant lock that is not reentrant (03): tests hang
#                    until a watchdog ends them
#   eli-no-compile   solved, but exercise 04 has a type error
#   fay-empty        nothing submitted
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here}

topic() { basename "$(ls -d "$root"/exercises/"$1"-*)"; }

# put STUDENT NN SRC_DIR: the exercise's src/ from SRC_DIR, plus the programs
# the course gives in the stub's src/bin (as a student's clone has them).
put() {
    local student=$1 nn=$2 src=$3 t
    t=$(topic "$nn")
    local dest="$out/$student/exercises/$t/src"
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -r "$src"/. "$dest"/
    if [ -d "$root/exercises/$t/src/bin" ] && [ ! -d "$dest/bin" ]; then
        cp -r "$root/exercises/$t/src/bin" "$dest/bin"
    fi
}
solution() { echo "$root/solutions/$(topic "$1")/src"; }
stub() { echo "$root/exercises/$(topic "$1")/src"; }
mutant() {
    local dir="$root/grader/mutants/$(topic "$1")/$2/src"
    [ -d "$dir" ] || { echo "make-class.sh: no mutant $1/$2" >&2; exit 1; }
    echo "$dir"
}

all=$(ls "$root/exercises" | sed -n 's/^\([0-9][0-9]\)-.*/\1/p')
for student in ada-complete ben-partial cleo-racy dev-deadlock eli-no-compile fay-empty; do
    rm -rf "${out:?}/$student"
    mkdir -p "$out/$student"
done

for nn in $all; do put ada-complete "$nn" "$(solution "$nn")"; done

for nn in 01 02 05; do put ben-partial "$nn" "$(solution "$nn")"; done
for nn in 03 04; do put ben-partial "$nn" "$(stub "$nn")"; done

for nn in $all; do put cleo-racy "$nn" "$(solution "$nn")"; done
put cleo-racy 02 "$(mutant 02 counter-read-modify-write-split)"
put cleo-racy 06 "$(mutant 06 pop-if-not-while)"

for nn in $all; do put dev-deadlock "$nn" "$(solution "$nn")"; done
put dev-deadlock 02 "$(mutant 02 transfer-locks-from-then-to)"
put dev-deadlock 03 "$(mutant 03 not-reentrant)"

for nn in $all; do put eli-no-compile "$nn" "$(solution "$nn")"; done
lib="$out/eli-no-compile/exercises/$(topic 04)/src/lib.rs"
cat >> "$lib" <<'RUST'

/// How many permits a fresh semaphore for `workers` threads should get.
pub fn permits_for(workers: usize) -> usize {
    // A type error a student might make: a count is not a string.
    let half: usize = "workers / 2";
    half.max(workers)
}
RUST

cat > "$out/fay-empty/README.md" <<'TEXT'
This student submitted nothing: every exercise is graded "not submitted".
TEXT
echo "sample class written to $out"
