#!/usr/bin/env python3
"""Regenerates this directory's oracle fixtures with helm v4.1.4.

Packs `packed/store` into `shop/charts/store-1.2.0.tgz` and `setvals` into
`setvals-0.0.1.tgz` (reproducibly), then
runs `helm template` for every line of `cases.tsv` from this directory and
writes its stdout to `expected/NAME.out` or, when helm fails, its stderr to
`expected/NAME.err`.

    python3 regen.py [--helm PATH]   # default: ~/.cache/kiln-oracles/bin/helm
"""

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
KUBE = "1.35.0"


def pack(src: Path, out: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted([src, *src.rglob("*")]):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(src.parent)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 1577836800
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    with open(out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
            gz.write(buf.getvalue())


def cases():
    for line in (HERE / "cases.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, release, chart, *flags = line.split("\t")
            if "--kube-version" not in flags:
                flags += ["--kube-version", KUBE]
            yield name, release, chart, flags


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--helm", default=os.path.expanduser("~/.cache/kiln-oracles/bin/helm"))
    args = ap.parse_args()
    pack(HERE / "packed" / "store", HERE / "shop" / "charts" / "store-1.2.0.tgz")
    pack(HERE / "setvals", HERE / "setvals-0.0.1.tgz")
    out = HERE / "expected"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for name, release, chart, flags in cases():
        r = subprocess.run(
            [args.helm, "template", release, "./" + chart, *flags],
            cwd=HERE, capture_output=True, text=True, check=False,
        )
        if r.returncode == 0:
            (out / f"{name}.out").write_text(r.stdout)
        else:
            (out / f"{name}.err").write_text(r.stderr)
        print(f"{name}: {'ok' if r.returncode == 0 else 'error'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
