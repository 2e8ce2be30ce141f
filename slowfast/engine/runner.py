"""``run(cfg)``: the one train / eval / test loop shared by every model and dataset.

build model -> optimizer -> resume (OUTPUT_DIR/checkpoints) or initialise from
TRAIN.CHECKPOINT_FILE_PATH -> per epoch: train, precise BN, validate every EVAL_PERIOD,
checkpoint every CHECKPOINT_PERIOD and at the last epoch, best.pyth by TRAIN.BEST_METRIC ->
multi-view test of best.pyth (or TEST.CHECKPOINT_FILE_PATH) -> results.json, predictions.npz.
"""
import functools
import json
import logging
import os
import signal

import torch

from slowfast.config.diff import config_differences
from slowfast.datasets.raw_jpeg import check_raw_decoding
from slowfast.engine import distributed, rng
from slowfast.engine.checkpoint import (
    BEST_NAME, CheckpointError, checkpoint_dir, checkpoint_path, last_checkpoint, load_file,
    load_weights, remove_partial_checkpoints, save_checkpoint, unwrap,
)
from slowfast.engine.evaluate import activation, aggregate_views, predict
from slowfast.engine.metrics import classification_metrics
from slowfast.engine.model_setup import InputPrep, prepare_model
from slowfast.engine.monitor import JsonStats, Progress, TensorBoard
from slowfast.engine.optimizer import build_optimizer
from slowfast.engine.precise_bn import update_bn_stats
from slowfast.engine.results import environment, write_predictions, write_results
from slowfast.engine.signals import Interrupted, StopFlag
from slowfast.engine.train import StopRequested, Trainer, check_bad_items
from slowfast.models import build_model
from slowfast.utils.io import write_text_atomic
from slowfast.utils.logging import setup_logging
from slowfast.utils.seed import seed_everything

logger = logging.getLogger(__name__)

# TRAIN.BEST_METRIC -> (key in the validation metrics, True if higher is better).
BEST_METRICS = {
    "val_top1": ("top1", True),
    "val_top5": ("top5", True),
    "val_mean_class_acc": ("mean_class_acc", True),
    "val_loss": ("loss", False),
}
_SUMMARY_KEYS = ("loss", "top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1")


class RunOutcome:
    """What ``run`` hands back to Python callers: the (unwrapped) model and results.json's dict."""

    def __init__(self, model, results):
        self.model = model
        self.results = results


def run(cfg, ctx=None):
    """Train, validate and test as ``cfg`` says; ``ctx`` (rank, device) defaults to one process."""
    if ctx is None:
        ctx = distributed.init(0, 1, 0, cfg.NUM_GPUS, cfg.DIST_BACKEND, None)
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    if ctx.is_main:
        write_text_atomic(os.path.join(cfg.OUTPUT_DIR, "config.yaml"), cfg.dump())
    setup_logging(cfg.OUTPUT_DIR, ctx.is_main)
    job = _Run(cfg, ctx)
    try:
        if cfg.TRAIN.ENABLE:
            job.train()
        results = job.test() if cfg.TEST.ENABLE else None
    finally:
        job.tb.close()
    return RunOutcome(job.module, results)


def _loader_api():
    from slowfast.datasets import loader

    return loader


def _model_statistics(module, cfg):
    """results.json's model statistics; a failure costs only the numbers, not the run."""
    empty = {"params": None, "gflops": None, "activations_m": None, "input_shape": None}
    if not cfg.LOG_MODEL_INFO:
        return empty
    try:
        from slowfast.models.stats import model_stats

        stats = model_stats(module, cfg)
        logger.info("Model: %s parameters, %s GFLOPs per view, %s M activations, input %s",
                    stats.get("params"), stats.get("gflops"), stats.get("activations_m"), stats.get("input_shape"))
        return {**empty, **stats}
    except Exception as e:  # statistics are informative only
        logger.warning("Model statistics unavailable (%s: %s); results.json stores nulls", type(e).__name__, e)
        return empty


def _is_period(epoch, period, max_epoch):
    return epoch + 1 == max_epoch or (period > 0 and (epoch + 1) % period == 0)


class _Run:
    def __init__(self, cfg, ctx):
        self.cfg, self.ctx = cfg, ctx
        if cfg.TEST.ENABLE and cfg.TEST.NUM_SUBSETS > 0:
            _subset_metrics_fn()  # fail now, not after hours of training
        check_raw_decoding(cfg)  # DATA.DECODE_DEVICE cuda without a GPU: fail before building anything
        logger.info("Run %s: %d process(es), device %s", cfg.OUTPUT_DIR, ctx.world_size, ctx.device)
        seed_everything(cfg.RNG_SEED)
        module = build_model(cfg)
        self.model_info = _model_statistics(module, cfg) if ctx.is_main else None
        self.model, self.forward = prepare_model(module, cfg, ctx)
        self.module = unwrap(self.model)
        self.optimizer = build_optimizer(self.module, cfg)
        amp16 = cfg.TRAIN.MIXED_PRECISION and cfg.TRAIN.MIXED_PRECISION_DTYPE == "float16"
        self.scaler = torch.amp.GradScaler(ctx.device.type) if amp16 else None
        self.autocast = functools.partial(
            torch.autocast, device_type=ctx.device.type,
            dtype=getattr(torch, cfg.TRAIN.MIXED_PRECISION_DTYPE), enabled=cfg.TRAIN.MIXED_PRECISION,
        )
        self.prepare = InputPrep.from_cfg(cfg, ctx.device, self.module)
        self.head_act = activation(cfg.MODEL.HEAD_ACT)
        self.json_stats = JsonStats(cfg.OUTPUT_DIR, ctx.is_main)
        self.tb = TensorBoard(cfg, ctx.is_main)
        self.best = None
        self.timing = {"train_wall_s": 0.0, "train_clips": 0}
        self.val_loader = None

    # ---- resume / initialise --------------------------------------------------------------
    def _resume(self):
        """(start epoch, start iteration, rng states) from a checkpoint of this run or a pretrained one."""
        cfg = self.cfg
        path = last_checkpoint(cfg.OUTPUT_DIR) if cfg.TRAIN.AUTO_RESUME else None
        if path:
            logger.info("Resuming from %s", path)
            data = load_file(path)
            changed = config_differences(data["cfg"], cfg) if isinstance(data.get("cfg"), str) else []
            if changed:
                logger.warning("%s was saved with other settings; this run continues it with: %s", path,
                               "; ".join(f"{k} {old!r} -> {new!r}" for k, old, new in changed))
            try:
                self.module.load_state_dict(data["model_state"])
            except RuntimeError as e:
                raise CheckpointError(f"{path}: does not fit this model: {e}") from e
            self._load_optimizer(data, path)
            self.best = data.get("best")
            self.timing = data.get("timing", self.timing)
            states = data.get("rng_states")
            if states is not None and len(states) != self.ctx.world_size:
                raise CheckpointError(
                    f"{path} was saved mid-epoch by {len(states)} processes; resume it with the same number "
                    f"(this run has {self.ctx.world_size})"
                )
            return data["epoch"] + 1, data.get("iter_in_epoch", 0), states
        if cfg.TRAIN.CHECKPOINT_FILE_PATH:
            report, data = load_weights(
                cfg.TRAIN.CHECKPOINT_FILE_PATH, self.module, cfg.TRAIN.CHECKPOINT_TYPE,
                cfg.TRAIN.CHECKPOINT_INFLATE, cfg.TRAIN.CHECKPOINT_CLEAR_NAME_PATTERN,
            )
            if data is not None and "epoch" in data and not cfg.TRAIN.CHECKPOINT_EPOCH_RESET:
                if report.incomplete():
                    raise CheckpointError(
                        f"{cfg.TRAIN.CHECKPOINT_FILE_PATH}: its optimizer state cannot continue this model "
                        f"({', '.join(report.incomplete())} not loaded); "
                        "set TRAIN.CHECKPOINT_EPOCH_RESET True to fine-tune"
                    )
                self._load_optimizer(data, cfg.TRAIN.CHECKPOINT_FILE_PATH)
                logger.info("Continuing after epoch %d of %s (TRAIN.CHECKPOINT_EPOCH_RESET False)",
                            data["epoch"] + 1, cfg.TRAIN.CHECKPOINT_FILE_PATH)
                return data["epoch"] + 1, 0, None
        return 0, 0, None

    def _load_optimizer(self, data, path):
        try:
            self.optimizer.load_state_dict(data["optimizer_state"])
        except (KeyError, ValueError) as e:
            raise CheckpointError(
                f"{path}: optimizer state does not fit this model ({e}); to fine-tune from it, "
                "set TRAIN.CHECKPOINT_EPOCH_RESET True"
            ) from e
        if self.scaler is not None and "scaler_state" in data:
            self.scaler.load_state_dict(data["scaler_state"])

    # ---- training ---------------------------------------------------------------------------
    def _extra(self):
        return {"best": self.best, "timing": dict(self.timing)}

    def _save(self, path, epoch, extra=None):
        if self.ctx.is_main:
            extra = {**self._extra(), **(extra or {})}
            save_checkpoint(path, self.model, self.optimizer, epoch, self.cfg, self.scaler, extra)

    def _stop_everyone(self, stop):
        flag = torch.tensor([float(bool(stop.signum))], device=self.ctx.device)
        return bool(distributed.all_reduce_sum(flag, self.ctx).item())

    def train(self):
        cfg, ctx = self.cfg, self.ctx
        start_epoch, start_iter, rng_states = self._resume()
        if start_epoch >= cfg.SOLVER.MAX_EPOCH:
            logger.info("Training already finished (%d epochs)", start_epoch)
            return
        loaders = _loader_api()
        train_loader = loaders.build_loader(cfg, "train")
        stop = StopFlag()
        trainer = Trainer(cfg, ctx, self.model, self.forward, self.optimizer, self.scaler, self.prepare,
                          self.autocast, self.json_stats, self.tb, stop)
        logger.info("Training epochs %d..%d, %d iterations each",
                    start_epoch + 1, cfg.SOLVER.MAX_EPOCH, len(train_loader))
        with stop.installed():
            for epoch in range(start_epoch, cfg.SOLVER.MAX_EPOCH):
                rng.seed_epoch(cfg.RNG_SEED, epoch, ctx.rank)
                loaders.set_epoch(train_loader, epoch)
                try:
                    stats = trainer.train_epoch(train_loader, epoch, start_iter, rng_states)
                except StopRequested as req:
                    states = distributed.all_gather_objects(rng.get_states(), ctx)
                    path = checkpoint_path(cfg.OUTPUT_DIR, req.epoch, req.iters_done)
                    self._save(path, req.epoch - 1, {"iter_in_epoch": req.iters_done, "rng_states": states})
                    distributed.barrier(ctx)
                    raise Interrupted(stop.signum, path) from None
                start_iter, rng_states = 0, None
                # Validate and save what rank 0 holds: the checkpoint is what gets evaluated.
                distributed.broadcast_buffers(self.module, ctx)
                self.timing["train_wall_s"] += stats["epoch_time_s"]
                self.timing["train_clips"] += stats["clips"]
                is_eval = _is_period(epoch, cfg.TRAIN.EVAL_PERIOD, cfg.SOLVER.MAX_EPOCH)
                is_ckpt = _is_period(epoch, cfg.TRAIN.CHECKPOINT_PERIOD, cfg.SOLVER.MAX_EPOCH)
                if cfg.BN.USE_PRECISE_STATS and (is_eval or is_ckpt):
                    num = min(cfg.BN.NUM_BATCHES_PRECISE, len(train_loader))
                    update_bn_stats(self.module, train_loader, self.prepare, num, ctx, self.autocast)
                if is_eval:
                    self._validate(epoch)
                stopping = self._stop_everyone(stop)
                if is_ckpt or stopping:
                    path = checkpoint_path(cfg.OUTPUT_DIR, epoch + 1)
                    self._save(path, epoch)
                    if ctx.is_main:
                        remove_partial_checkpoints(cfg.OUTPUT_DIR, epoch + 1)
                if stopping:
                    distributed.barrier(ctx)
                    raise Interrupted(stop.signum or signal.SIGTERM, path)  # another rank's signal
        distributed.barrier(ctx)

    def _validate(self, epoch):
        cfg, ctx = self.cfg, self.ctx
        if self.val_loader is None:
            self.val_loader = _loader_api().build_loader(cfg, "val")
        metrics, _, _ = self._evaluate(self.val_loader, "val")
        if not ctx.is_main:
            return
        summary = {k: metrics[k] for k in _SUMMARY_KEYS}
        self.json_stats.write("val_epoch", epoch=epoch + 1, samples=metrics["samples"], **summary)
        self.tb.metrics("Val", metrics, self._class_names(self.val_loader.dataset), epoch + 1)
        logger.info("Val epoch %d: loss %.4f top1 %.2f%% top5 %.2f%% mean class acc %.2f%%",
                    epoch + 1, metrics["loss"], metrics["top1"], metrics["top5"], metrics["mean_class_acc"])
        key, higher = BEST_METRICS[cfg.TRAIN.BEST_METRIC]
        value = metrics[key]
        if self.best is None or (value > self.best["value"] if higher else value < self.best["value"]):
            self.best = {"epoch": epoch + 1, "metric": cfg.TRAIN.BEST_METRIC, "value": value}
            self._save(os.path.join(checkpoint_dir(cfg.OUTPUT_DIR), BEST_NAME), epoch)
            logger.info("New best %s = %.4f at epoch %d", cfg.TRAIN.BEST_METRIC, value, epoch + 1)

    def _evaluate(self, loader, split):
        """Run ``loader`` through the eval-mode model. Main process: (metrics, aggregated, raw)."""
        cfg, ctx = self.cfg, self.ctx
        self.module.eval()
        progress = Progress(len(loader), split, ctx.is_main)
        pred = predict(self.module, loader, self.prepare, self.autocast, ctx, progress, self.head_act)
        progress.close()
        check_bad_items(pred["bad"], pred["views"], cfg.DATA.MAX_BAD_FRACTION, pred["bad_files"], split)
        if not ctx.is_main:
            return None, None, pred
        agg = aggregate_views(pred, loader.dataset.num_views, cfg.DATA.ENSEMBLE_METHOD)
        metrics = classification_metrics(agg["scores"], agg["labels"], cfg.MODEL.NUM_CLASSES)
        metrics["loss"] = agg["loss"]
        metrics["samples"] = len(agg["labels"])
        return metrics, agg, pred

    def _class_names(self, dataset):
        path = self.cfg.TENSORBOARD.CLASS_NAMES_PATH
        if not path:
            return list(dataset.class_names)
        with open(path) as f:
            ids = json.load(f)
        names = [str(i) for i in range(self.cfg.MODEL.NUM_CLASSES)]
        for name, i in ids.items():
            names[int(i)] = name
        return names

    # ---- test ---------------------------------------------------------------------------------
    def _test_checkpoint(self):
        cfg = self.cfg
        if cfg.TEST.CHECKPOINT_FILE_PATH:
            return cfg.TEST.CHECKPOINT_FILE_PATH, cfg.TEST.CHECKPOINT_TYPE
        best = os.path.join(checkpoint_dir(cfg.OUTPUT_DIR), BEST_NAME)
        last = last_checkpoint(cfg.OUTPUT_DIR)
        ordered = [best, last] if cfg.TRAIN.ENABLE else [last, best]
        for path in ordered:
            if path and os.path.isfile(path):
                return path, "pytorch"
        raise CheckpointError(
            f"nothing to test: TEST.CHECKPOINT_FILE_PATH is empty and {checkpoint_dir(cfg.OUTPUT_DIR)} "
            "holds no checkpoint"
        )

    def test(self):
        cfg, ctx = self.cfg, self.ctx
        path, kind = self._test_checkpoint()
        report, data = load_weights(path, self.module, kind)
        if report.incomplete():
            raise CheckpointError(
                f"{path}: cannot test, these model tensors were not loaded: {', '.join(report.incomplete())}"
            )
        logger.info("Testing %s", path)
        loader = _loader_api().build_loader(cfg, "test")
        metrics, agg, pred = self._evaluate(loader, "test")
        if not ctx.is_main:
            return None
        epoch = data["epoch"] + 1 if data and "epoch" in data else None
        dataset = loader.dataset
        subsets = None
        if cfg.TEST.NUM_SUBSETS > 0:
            subsets = _subset_metrics_fn()(agg["scores"], agg["labels"], cfg.TEST.NUM_SUBSETS,
                                           cfg.TEST.SUBSET_FRACTION, cfg.RNG_SEED)
        self.json_stats.write("test", epoch=epoch, checkpoint=path, samples=metrics["samples"], views=pred["views"],
                              **{k: metrics[k] for k in _SUMMARY_KEYS})
        self.tb.metrics("Test", metrics, self._class_names(dataset), epoch or 0)
        write_predictions(os.path.join(cfg.OUTPUT_DIR, "predictions.npz"), agg)
        if cfg.TEST.SAVE_RESULTS_PATH:
            write_predictions(os.path.join(cfg.OUTPUT_DIR, cfg.TEST.SAVE_RESULTS_PATH), agg)
        best = self.best if cfg.TRAIN.ENABLE else (data or {}).get("best")
        info = self.model_info
        timing = self.timing
        results = {
            "run_name": os.path.basename(os.path.normpath(cfg.OUTPUT_DIR)),
            "model": {
                "arch": cfg.MODEL.ARCH, "model_name": cfg.MODEL.MODEL_NAME, "params": info["params"],
                "gflops_per_view": info["gflops"], "activations_m": info["activations_m"],
                "input_shape": info["input_shape"],
            },
            "dataset": {
                "name": cfg.TEST.DATASET, "num_classes": cfg.MODEL.NUM_CLASSES,
                "class_names": list(dataset.class_names), "test_samples": metrics["samples"],
                "views_per_sample": dataset.num_views,
            },
            "test": {k: metrics[k] for k in (
                "top1", "top5", "mean_class_acc", "macro_precision", "macro_recall", "macro_f1",
                "per_class_acc", "confusion", "class_support")},
            "subsets": subsets,
            "best": best,
            "timing": {
                "train_wall_s": timing["train_wall_s"] if cfg.TRAIN.ENABLE else None,
                "train_clips_per_s": timing["train_clips"] / timing["train_wall_s"] if timing["train_wall_s"] else None,
                "test_clips_per_s": pred["views"] / pred["seconds"] if pred["seconds"] else None,
            },
            "environment": environment(ctx),
            "checkpoint": path,
            "checkpoint_epoch": epoch,
        }
        write_results(cfg.OUTPUT_DIR, results)
        logger.info("Test (%d samples x %d views): top1 %.2f%% top5 %.2f%% mean class acc %.2f%% macro F1 %.2f%%",
                    metrics["samples"], dataset.num_views, metrics["top1"], metrics["top5"],
                    metrics["mean_class_acc"], metrics["macro_f1"])
        return results


def _subset_metrics_fn():
    try:
        from slowfast.engine.subsets import subset_metrics
    except ImportError as e:
        raise RuntimeError(
            f"TEST.NUM_SUBSETS > 0 needs slowfast.engine.subsets.subset_metrics, which cannot be imported ({e}); "
            "set TEST.NUM_SUBSETS 0"
        ) from e
    return subset_metrics
