"""build_loader: batch layout, rank coverage, determinism across workers and epochs, repeats."""
import numpy as np
import pytest
import torch

from slowfast.datasets import loader as loader_module
from slowfast.datasets.loader import EvalSampler, build_loader, set_epoch
from tests.datasets.helpers import meccano_cfg


def _epoch(loader, epoch):
    set_epoch(loader, epoch)
    return [(b[0].clone(), b[1].clone(), b[2].clone(), b[3]["frame_indices"].clone()) for b in loader]


def test_batch_layout(tiny_meccano):
    loader = build_loader(meccano_cfg(tiny_meccano), "train")
    clips, labels, index, meta = next(iter(loader))
    assert clips.shape == (4, 3, 4, 32, 32) and clips.dtype == torch.uint8
    assert labels.dtype == index.dtype == torch.long and labels.shape == index.shape == (4,)
    assert meta["frame_indices"].shape == (4, 4) and meta["view"].tolist() == [0] * 4
    assert meta["bad"].tolist() == [0] * 4 and meta["bad_files"] == [[]] * 4
    assert len(meta["video_id"]) == 4 and all(isinstance(v, str) for v in meta["video_id"])
    dataset = loader.dataset
    assert labels.tolist() == [dataset.sample_labels[i] for i in index.tolist()]
    assert len(dataset.class_names) == 4 and dataset.num_views == 1


def test_two_ranks_cover_each_test_sample_exactly_once(tiny_meccano, monkeypatch):
    cfg = meccano_cfg(tiny_meccano, "TEST.NUM_ENSEMBLE_VIEWS", "2", "TEST.NUM_SPATIAL_CROPS", "1",
                      "TEST.BATCH_SIZE", "4")
    seen = []
    for rank in range(2):
        monkeypatch.setattr(loader_module, "_distributed", lambda rank=rank: (rank, 2))
        loader = build_loader(cfg, "test")
        num_samples = loader.dataset.num_samples
        for _, _, index, meta in loader:
            seen += [(rank, i, v) for i, v in zip(index.tolist(), meta["view"].tolist())]
    assert num_samples % 2 == 1  # odd: a padding sampler would duplicate one
    pairs = [(i, v) for _, i, v in seen]
    assert sorted(pairs) == [(s, v) for s in range(num_samples) for v in range(2)]
    ranks_of = {}
    for rank, i, _ in seen:
        ranks_of.setdefault(i, set()).add(rank)
    assert all(len(r) == 1 for r in ranks_of.values())  # all views of a sample on one rank


def test_eval_sampler_has_no_padding():
    parts = [list(EvalSampler(7, 3, 2, r)) for r in range(2)]
    assert len(parts[0]) == 12 and len(parts[1]) == 9
    assert sorted(parts[0] + parts[1]) == list(range(21))


def test_batches_do_not_depend_on_workers_and_follow_the_epoch(tiny_meccano):
    opts = ("DATA.RANDOM_FLIP", "True", "AUG.COLOR_JITTER_PROB", "0.5")
    serial = build_loader(meccano_cfg(tiny_meccano, *opts), "train")
    parallel = build_loader(meccano_cfg(tiny_meccano, *opts, "DATA_LOADER.NUM_WORKERS", "2"), "train")
    first = _epoch(parallel, 0)
    second = _epoch(parallel, 1)  # persistent workers, a new epoch
    for epoch, batches in ((1, second), (0, first)):
        reference = _epoch(serial, epoch)
        assert len(reference) == len(batches) > 0
        for a, b in zip(reference, batches):
            assert all(torch.equal(x, y) for x, y in zip(a, b))
    order = lambda batches: torch.cat([b[2] for b in batches]).tolist()  # noqa: E731
    assert order(first) != order(second)


def test_the_global_torch_rng_is_untouched(tiny_meccano):
    loader = build_loader(meccano_cfg(tiny_meccano, "AUG.ENABLE", "True", "AUG.AA_TYPE", "rand-m5-n1-inc1"), "train")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _epoch(loader, 0)
    assert torch.equal(torch.rand(3), expected)


def test_repeated_augmentation_repeats_indices_with_different_clips(tiny_meccano):
    cfg = meccano_cfg(tiny_meccano, "AUG.NUM_SAMPLE", "2", "TRAIN.BATCH_SIZE", "2")
    loader = build_loader(cfg, "train")
    set_epoch(loader, 0)
    clips, _, index, _ = next(iter(loader))
    assert clips.shape[0] == 4 and index.tolist()[0::2] == index.tolist()[1::2]
    assert not torch.equal(clips[0], clips[1])  # different crops of the same sample
    assert len(loader) == loader.dataset.num_samples // 2


def test_too_few_samples_for_a_batch_is_an_error(tiny_meccano):
    with pytest.raises(ValueError, match="fewer than one batch of TRAIN.BATCH_SIZE=64"):
        build_loader(meccano_cfg(tiny_meccano, "TRAIN.BATCH_SIZE", "64"), "train")
    with pytest.raises(ValueError, match="DATA.DECODE_DEVICE"):
        build_loader(meccano_cfg(tiny_meccano, "DATA.DECODE_DEVICE", "cuda"), "train")


def test_augmentation_settings_reach_the_clips(tiny_meccano):
    plain = build_loader(meccano_cfg(tiny_meccano, "DATA.RANDOM_FLIP", "False"), "train").dataset
    gray = build_loader(meccano_cfg(tiny_meccano, "DATA.RANDOM_FLIP", "False", "DATA.COLOR_RND_GRAYSCALE", "1.0"),
                        "train").dataset
    a, b = plain[(0, 0, 0)][0].numpy(), gray[(0, 0, 0)][0].numpy()
    assert not np.array_equal(a, b) and np.array_equal(b[0], b[1]) and np.array_equal(b[1], b[2])
    relative = meccano_cfg(tiny_meccano, "DATA.TRAIN_JITTER_SCALES_RELATIVE", "[0.3, 1.0]",
                           "DATA.TRAIN_JITTER_ASPECT_RELATIVE", "[0.75, 1.33]", "AUG.ENABLE", "True",
                           "AUG.AA_TYPE", "rand-m7-n2-mstd0.5-inc1", "AUG.RE_PROB", "1.0")
    clip = build_loader(relative, "train").dataset[(1, 0, 0)][0]
    assert clip.shape == (3, 4, 32, 32)
    with pytest.raises(ValueError, match="AUG.RE_SPLIT"):
        build_loader(meccano_cfg(tiny_meccano, "AUG.RE_SPLIT", "True", "AUG.ENABLE", "True"), "train")
