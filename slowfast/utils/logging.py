"""Logging to the console and OUTPUT_DIR/stdout.log; only the main process prints."""
import logging
import os
import sys

_FORMAT = "[%(asctime)s][%(levelname)s] %(name)s: %(message)s"


def setup_logging(output_dir=None, is_main=True):
    """Configure the root logger once per process.

    Non-main ranks only report errors, so a multi-GPU run prints each line once.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.INFO if is_main else logging.ERROR)
    formatter = logging.Formatter(_FORMAT, datefmt="%m/%d %H:%M:%S")
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(formatter)
    root.addHandler(console)
    if is_main and output_dir:
        os.makedirs(output_dir, exist_ok=True)
        file_handler = logging.FileHandler(os.path.join(output_dir, "stdout.log"))
        file_handler.setFormatter(formatter)
        root.addHandler(file_handler)


def get_logger(name):
    return logging.getLogger(name)
