"""DATA.REVERSE_INPUT_CHANNEL is applied exactly once, by the engine (after normalising, as
PySlowFast does): the dataset's clips stay RGB whatever the key says."""
import torch

from slowfast.datasets.registry import build_dataset
from slowfast.engine.model_setup import InputPrep
from tests.datasets.helpers import meccano_cfg


def test_dataset_clips_are_rgb_and_engine_reverses_once(tiny_meccano):
    rgb = build_dataset(meccano_cfg(tiny_meccano), "val")[0][0]
    cfg = meccano_cfg(tiny_meccano, "DATA.REVERSE_INPUT_CHANNEL", "True")
    same = build_dataset(cfg, "val")[0][0]
    assert torch.equal(rgb, same)
    prep = InputPrep.from_cfg(cfg, torch.device("cpu"), model=torch.nn.Identity())
    x = (rgb.float() / 255 - torch.tensor(cfg.DATA.MEAN).view(3, 1, 1, 1)) / torch.tensor(cfg.DATA.STD).view(3, 1, 1, 1)
    out = prep(same.unsqueeze(0))[0]
    assert torch.allclose(out, x.flip(0), atol=1e-6)
