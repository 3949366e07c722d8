#!/usr/bin/env bash
# How `catimage report` scales: a synthetic finished cascade folder of N prompts (cascade.jsonl,
# manifest, scores-clipscore.jsonl and scores-nima.jsonl, PNGs of SIDE² pixels, every other
# prompt escalated), its report made with linked images and with --embed, and the pages drawn in
# headless Chromium (Debian's `chromium`; skipped when absent): the linked page's default view
# (100 rows), sorted by a score and every row at once; the embedded page's default view.
#
#   N=5000 SIDE=512 scripts/bench_report.sh      # defaults; prints sizes and seconds
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
SIDE=${SIDE:-512}
CATIMAGE=${CATIMAGE:-./build/catimage}
PYTHON=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" - "$work/out" "$N" "$SIDE" <<'PY'
import json, os, random, struct, sys, zlib
out, n, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(0)
for d in ("small", "xl"):
    os.makedirs(os.path.join(out, d), exist_ok=True)
def png(path, seed):
    # rows of noise, each the previous one shifted: a small PNG, but noise to a JPEG (its
    # thumbnails are larger than a photo-like image's: --embed's size is an upper bound)
    r = random.Random(seed)
    row = bytes(r.randrange(256) for _ in range(side * 3))
    raw = b"".join(b"\x00" + row[y % 7:] + row[:y % 7] for y in range(side))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
    open(os.path.join(out, path), "wb").write(data)
words = "red cube dog cat dusk wall park neon city tree river night portrait castle".split()
man, rec, clip, nima = [], [], [], []
for i in range(n):
    pid = str(i + 1)
    prompt = " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))
    files = ["small/%s.png" % pid] + (["xl/%s.png" % pid] if i % 2 == 0 else [])
    s = {f: 20 + 5 * rng.random() for f in files}
    for f in files:
        png(f, i * 2 + len(f))
        man.append({"file": f, "key": "k" + f, "id": pid, "index": i, "prompt": prompt,
                    "candidate": f.split("/")[0], "seed": i, "seconds": 0.1})
        clip.append({"file": f, "metric": "clipscore", "score": s[f], "key": "k" + f})
        nima.append({"file": f, "metric": "nima", "score": 4 + rng.random(), "key": "k" + f})
    kept = max(files, key=lambda f: s[f])
    r = {"id": pid, "prompt": prompt, "first": "small", "first_file": files[0], "observed": s[files[0]],
         "escalated": len(files) > 1, "candidate": "xl" if len(files) > 1 else "small",
         "cost": 4.0 if len(files) > 1 else 1.0, "predicted": {"small": 21.0, "xl": 22.0},
         "kept_file": kept, "file": pid + ".png"}
    if len(files) > 1:
        r.update(second_file=files[1], second_score=s[files[1]], other_file=[f for f in files if f != kept][0])
    rec.append(r)
def dump(name, lines):
    with open(os.path.join(out, name), "w") as f:
        f.writelines(json.dumps(l) + "\n" for l in lines)
dump("manifest.jsonl", man); dump("cascade.jsonl", rec)
dump("scores-clipscore.jsonl", clip); dump("scores-nima.jsonl", nima)
PY
echo "folder: $N prompts, $(find "$work/out" -name '*.png' | wc -l) PNGs of ${SIDE}², $(du -sh "$work/out" | cut -f1)"
t0=$(date +%s.%N)
"$CATIMAGE" -q report "$work/out"
t1=$(date +%s.%N)
"$CATIMAGE" -q report "$work/out" --embed -o "$work/embedded.html"
t2=$(date +%s.%N)
echo "report, linked: $(echo "$t1 - $t0" | bc) s, $(du -h "$work/out/report.html" | cut -f1)"
echo "report --embed (256 px JPEG thumbnails): $(echo "$t2 - $t1" | bc) s, $(du -h "$work/embedded.html" | cut -f1)"
if command -v chromium >/dev/null; then
  # the page's own timings (data-parse-ms, data-draw-ms on its table): reading the data block, and
  # filtering, sorting and building one page of rows (layout and painting not included)
  flags=(--headless --disable-gpu --virtual-time-budget=3000 --dump-dom --user-data-dir="$work/profile")
  [ "$(id -u)" = 0 ] && flags+=(--no-sandbox)
  for page_view in "out/report.html" "out/report.html#sort=score&desc=1&metric=nima" "out/report.html#size=all" \
                   "embedded.html"; do
    t0=$(date +%s.%N)
    dom=$(chromium "${flags[@]}" "file://$work/$page_view" 2>/dev/null)
    t1=$(date +%s.%N)
    ms=$(grep -o 'data-parse-ms="[0-9.]*" data-draw-ms="[0-9.]*"' <<<"$dom" || echo "no timings (script error?)")
    echo "chromium $page_view: $ms; rows drawn $(grep -o '<tr id="row-' <<<"$dom" | wc -l); whole run $(echo "$t1 - $t0" | bc) s"
  done
fi
