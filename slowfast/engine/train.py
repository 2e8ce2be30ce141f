"""One training epoch: per-iteration LR, mixed precision, accumulation, clipping, mixup.

Loss, accuracy and the NaN / loss-explosion detectors live on the device; the host reads
them (one all-reduce in multi-process runs) only every LOG_PERIOD iterations and at the end
of the epoch, so the GPU never waits for Python in between. A non-finite loss or an
explosion therefore stops the run at the next log point, with the epoch and iteration where
it first happened, before any checkpoint is written.
"""
import contextlib
import datetime
import logging
import time

import torch

from slowfast.engine import rng
from slowfast.engine.distributed import all_reduce_sum
from slowfast.engine.losses import get_loss_func
from slowfast.engine.lr_policy import get_lr_at_epoch
from slowfast.engine.mixup import MixUp
from slowfast.engine.monitor import Progress, peak_memory_mb
from slowfast.engine.optimizer import set_lr

logger = logging.getLogger(__name__)


class StopRequested(Exception):
    """SIGTERM/SIGINT seen; raised right after an optimizer step so the caller can checkpoint."""

    def __init__(self, epoch, iters_done):
        super().__init__(f"stop requested at epoch {epoch + 1}, after {iters_done} iterations")
        self.epoch = epoch
        self.iters_done = iters_done


class TooManyBadItems(RuntimeError):
    """More unreadable items than DATA.MAX_BAD_FRACTION allows."""


def check_bad_items(bad, total, max_fraction, files, where):
    """Log the unreadable-item count; raise past DATA.MAX_BAD_FRACTION of ``total`` items."""
    if bad:
        logger.warning("%s: %d unreadable items replaced (of %d); e.g. %s", where, bad, total, ", ".join(files[:5]))
    if total and bad > max_fraction * total:
        raise TooManyBadItems(
            f"{where}: {bad} of {total} items were unreadable, more than DATA.MAX_BAD_FRACTION="
            f"{max_fraction}; first files: {', '.join(files[:10])}"
        )


class _Window:
    """Device-side sums since the last host read: loss * n, top-1 hits, top-5 hits, n."""

    def __init__(self, device):
        self.sums = torch.zeros(4, device=device, dtype=torch.float64)

    def add(self, loss, logits, labels):
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        hits = top == labels[:, None]
        n = labels.shape[0]
        # new_full fills on the device; torch.tensor(n, device=cuda) would copy from the host and sync.
        self.sums += torch.stack([loss.double() * n, hits[:, 0].sum().double(), hits.any(1).sum().double(),
                                  self.sums.new_full((), float(n))])


class Trainer:
    def __init__(self, cfg, ctx, model, forward, optimizer, scaler, prepare, autocast, json_stats, tensorboard,
                 stop_flag):
        self.cfg = cfg
        self.ctx = ctx
        self.model = model
        self.forward = forward
        self.optimizer = optimizer
        self.scaler = scaler
        self.prepare = prepare
        self.autocast = autocast
        self.json_stats = json_stats
        self.tb = tensorboard
        self.stop_flag = stop_flag
        self.loss_fn = get_loss_func(cfg.MODEL.LOSS_FUNC)
        self.mixup = MixUp.from_cfg(cfg) if cfg.MIXUP.ENABLE else None
        self.accum = cfg.TRAIN.GRAD_ACCUM_STEPS
        self.params = [p for p in model.parameters() if p.requires_grad]

    # ---- one step -----------------------------------------------------------------------
    def _step(self, batch, epoch, it, n, window, detectors):
        clips, labels, _, _ = batch
        cfg, device = self.cfg, self.ctx.device
        lr = self.lr_at(epoch, it, n)
        set_lr(self.optimizer, lr)
        x = self.prepare(clips)
        y = labels.to(device, non_blocking=True)
        target = y
        if self.mixup is not None:
            x, target = self.mixup(x, y, rng.mixup_generator(cfg.RNG_SEED, epoch, it))
        group_start = (it // self.accum) * self.accum
        group_size = min(self.accum, n - group_start)
        boundary = it + 1 == group_start + group_size
        sync = self.model.no_sync() if self.ctx.distributed and not boundary else contextlib.nullcontext()
        with sync:
            with self.autocast():
                logits = self.forward(x)
            loss = self.loss_fn(logits, target)
            scaled = loss / group_size
            (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
        if boundary:
            self._optimizer_step()
        loss = loss.detach()
        detectors.update(loss, it)
        window.add(loss, logits.detach().float(), y)
        return lr, boundary

    def lr_at(self, epoch, it, n):
        """PySlowFast's per-iteration LR, counted in optimizer steps when accumulating."""
        steps_per_epoch = -(-n // self.accum)
        return get_lr_at_epoch(self.cfg, epoch + (it // self.accum) / steps_per_epoch)

    def _optimizer_step(self):
        solver = self.cfg.SOLVER
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if solver.CLIP_GRAD_VAL is not None:
            torch.nn.utils.clip_grad_value_(self.params, solver.CLIP_GRAD_VAL)
        elif solver.CLIP_GRAD_L2NORM is not None:
            torch.nn.utils.clip_grad_norm_(self.params, solver.CLIP_GRAD_L2NORM)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    # ---- host reads ---------------------------------------------------------------------
    def _read(self, window, detectors, bad, stop):
        """All-reduce the window sums and flags; raise on NaN/explosion. Returns host values."""
        packed = torch.cat([
            window.sums,
            torch.stack([(detectors.nonfinite_it >= 0).double(), (detectors.explode_it >= 0).double()]),
            torch.tensor([float(bad), float(stop)], dtype=torch.float64, device=window.sums.device),
        ])
        values = all_reduce_sum(packed, self.ctx).tolist()
        window.sums.zero_()
        detectors.raise_if_triggered(values[4], values[5])
        return values

    def train_epoch(self, loader, epoch, start_iter=0, rng_states=None):
        """Train one epoch (0-based ``epoch``); returns a dict of epoch statistics."""
        cfg, ctx = self.cfg, self.ctx
        n = len(loader)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        window = _Window(ctx.device)
        detectors = _Detectors(ctx.device, epoch, cfg.TRAIN.KILL_LOSS_EXPLOSION_FACTOR)
        progress = Progress(n, f"epoch {epoch + 1}/{cfg.SOLVER.MAX_EPOCH}", ctx.is_main)
        batches = iter(loader)
        if start_iter:
            logger.info("Resuming epoch %d at iteration %d: skipping the batches already trained",
                        epoch + 1, start_iter)
            for _ in range(start_iter):
                next(batches)
            progress.update(start_iter)
        if rng_states is not None:
            rng.set_states(rng_states[ctx.rank])
        epoch_items = len(loader) * (loader.batch_size or 1) * ctx.world_size
        totals = [0.0, 0.0, 0.0, 0.0]
        bad, bad_total, bad_files = 0, 0, []
        data_time = window_data = 0.0
        epoch_start = window_start = time.perf_counter()
        window_iters = 0
        lr = self.lr_at(epoch, start_iter, n)
        for it in range(start_iter, n):
            t0 = time.perf_counter()
            batch = next(batches)
            window_data += time.perf_counter() - t0
            bad += int(batch[3]["bad"].sum())
            bad_files.extend(f for files in batch[3]["bad_files"] for f in files)
            lr, boundary = self._step(batch, epoch, it, n, window, detectors)
            window_iters += 1
            progress.update()
            stop_local = bool(self.stop_flag.signum)
            log_now = (it + 1) % cfg.LOG_PERIOD == 0 or it + 1 == n
            # One process: honour a signal at the next optimizer step. Several: decide together
            # at the log points, the only places where the processes exchange anything.
            if not (log_now or (stop_local and boundary and not ctx.distributed)):
                continue
            values = self._read(window, detectors, bad, stop_local)
            bad_total += int(values[6])
            bad = 0
            if bad_total > cfg.DATA.MAX_BAD_FRACTION * epoch_items:  # cannot recover: stop now
                check_bad_items(bad_total, epoch_items, cfg.DATA.MAX_BAD_FRACTION, bad_files, f"epoch {epoch + 1}")
            for i in range(4):
                totals[i] += values[i]
            elapsed = time.perf_counter() - window_start
            data_time += window_data
            self._log_window(epoch, it, n, lr, values, elapsed / window_iters, window_data / window_iters, progress)
            window_start, window_data, window_iters = time.perf_counter(), 0.0, 0
            if values[7] and boundary and it + 1 < n:
                progress.close()
                raise StopRequested(epoch, it + 1)
        progress.close()
        seconds = time.perf_counter() - epoch_start
        if bad_total:
            check_bad_items(bad_total, int(totals[3]), cfg.DATA.MAX_BAD_FRACTION, bad_files, f"epoch {epoch + 1}")
        count = max(totals[3], 1.0)
        stats = {
            "epoch": epoch + 1, "loss": totals[0] / count, "top1": 100.0 * totals[1] / count,
            "top5": 100.0 * totals[2] / count, "lr": lr, "clips": int(totals[3]), "epoch_time_s": seconds,
            "data_time": data_time / max(n - start_iter, 1), "step_time": seconds / max(n - start_iter, 1),
            "peak_mem_mb": peak_memory_mb(ctx.device), "bad_items": bad_total,
        }
        self.json_stats.write("train_epoch", **stats)
        self.tb.scalars({"Train/epoch_loss": stats["loss"], "Train/epoch_top1": stats["top1"]}, epoch + 1)
        logger.info("Epoch %d/%d done: loss %.4f top1 %.2f%% top5 %.2f%% (%.1fs, %.1f clips/s)",
                    epoch + 1, cfg.SOLVER.MAX_EPOCH, stats["loss"], stats["top1"], stats["top5"],
                    seconds, stats["clips"] / max(seconds, 1e-9))
        return stats

    def _log_window(self, epoch, it, n, lr, values, step_time, data_time, progress):
        cfg = self.cfg
        count = max(values[3], 1.0)
        loss, top1, top5 = values[0] / count, 100.0 * values[1] / count, 100.0 * values[2] / count
        mem = peak_memory_mb(self.ctx.device)
        remaining = (n - it - 1) + (cfg.SOLVER.MAX_EPOCH - epoch - 1) * n
        eta = str(datetime.timedelta(seconds=int(remaining * step_time)))
        self.json_stats.write(
            "train_iter", epoch=epoch + 1, iter=it + 1, iters_per_epoch=n, loss=loss, lr=lr, top1=top1, top5=top5,
            data_time=data_time, step_time=step_time, peak_mem_mb=mem, eta=eta,
        )
        step = epoch * n + it + 1
        self.tb.scalars({"Train/loss": loss, "Train/lr": lr}, step)
        if progress.is_bar:
            progress.show(loss=loss, top1=top1, lr=lr)
        else:
            logger.info("Epoch %d/%d iter %d/%d: loss %.4f top1 %.2f%% lr %.3g data %.3fs step %.3fs mem %.0fMB eta %s",
                        epoch + 1, cfg.SOLVER.MAX_EPOCH, it + 1, n, loss, top1, lr, data_time, step_time, mem, eta)


class _Detectors:
    """First iteration with a non-finite loss, and (KILL_LOSS_EXPLOSION_FACTOR > 0) the first
    whose loss exceeds the factor times the mean of the 5 losses before it (PySlowFast needs 6
    earlier losses before it checks), tracked with device ops only."""

    def __init__(self, device, epoch, factor):
        self.epoch = epoch
        self.factor = factor
        self.nonfinite_it = torch.tensor(-1, device=device)
        self.explode_it = torch.tensor(-1, device=device)
        self.nonfinite_loss = torch.tensor(0.0, device=device)
        self.explode_loss = torch.tensor(0.0, device=device)
        self.explode_ref = torch.tensor(0.0, device=device)
        self.history = torch.zeros(5, device=device)
        self.seen = 0

    def update(self, loss, it):
        loss = loss.float()
        new = (self.nonfinite_it < 0) & ~torch.isfinite(loss)
        self.nonfinite_it = torch.where(new, it, self.nonfinite_it)
        self.nonfinite_loss = torch.where(new, loss, self.nonfinite_loss)
        if self.factor > 0:
            if self.seen >= 6:
                ref = self.history.mean()
                new = (self.explode_it < 0) & (loss > self.factor * ref)
                self.explode_it = torch.where(new, it, self.explode_it)
                self.explode_loss = torch.where(new, loss, self.explode_loss)
                self.explode_ref = torch.where(new, ref, self.explode_ref)
            self.history[self.seen % 5] = loss
            self.seen += 1

    def raise_if_triggered(self, any_nonfinite, any_explosion):
        where = f"epoch {self.epoch + 1}"
        if any_nonfinite:
            it = int(self.nonfinite_it)
            at = f"{where}, iteration {it + 1}" if it >= 0 else f"{where} (on another process)"
            loss = f" (loss {float(self.nonfinite_loss)})" if it >= 0 else ""
            raise FloatingPointError(f"non-finite training loss at {at}{loss}; no checkpoint was written for it")
        if any_explosion:
            it = int(self.explode_it)
            at = f"{where}, iteration {it + 1}" if it >= 0 else f"{where} (on another process)"
            detail = ""
            if it >= 0:
                loss, ref = float(self.explode_loss), float(self.explode_ref)
                detail = f": loss {loss:.4g} > {self.factor} x recent mean {ref:.4g}"
            raise FloatingPointError(f"loss explosion at {at}{detail} (TRAIN.KILL_LOSS_EXPLOSION_FACTOR)")
