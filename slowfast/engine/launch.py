"""Start the run: one process, NUM_GPUS local processes, or one rank of torchrun/SLURM."""
import logging
import os

from slowfast.utils.io import write_text_atomic
from slowfast.utils.logging import setup_logging
from slowfast.utils.seed import seed_everything


def prepare_run_dir(cfg, is_main=True):
    """Create OUTPUT_DIR, write the merged config.yaml, set up logging and seeds."""
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    if is_main:
        write_text_atomic(os.path.join(cfg.OUTPUT_DIR, "config.yaml"), cfg.dump())
    setup_logging(cfg.OUTPUT_DIR, is_main)
    seed_everything(cfg.RNG_SEED)


def launch_job(cfg, init_method=None):
    prepare_run_dir(cfg)
    logging.getLogger(__name__).warning(
        "Config written to %s; the training engine is not implemented yet, stopping here.",
        os.path.join(cfg.OUTPUT_DIR, "config.yaml"),
    )
