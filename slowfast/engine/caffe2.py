"""Caffe2 ``.pkl`` checkpoints (PySlowFast's model zoo): safe unpickling and blob-name mapping.

Loading: the file is read by an unpickler that resolves only numpy array/dtype/scalar
reconstruction, ``collections.OrderedDict``, ``_codecs.encode`` (how protocol-2 pickles
store bytes) and plain builtin containers and numbers. Any other global (``os.system``,
``builtins.eval``, a class of some module, ...) is refused, so no pickled code ever runs.
The file must hold a dict with a ``"blobs"`` dict of name -> numpy array.

Name mapping (PySlowFast's layout; ``P`` is the pathway: 0 for plain names, 1 for names
prefixed ``t_``, the Fast pathway). The first matching structural rule rewrites the name:

  ================================================  ====================================
  Caffe2 blob                                       our key prefix
  ================================================  ====================================
  ``t_pool1_subsample_bn_<x>``                      ``s1_fuse.bn.<x>``
  ``t_pool1_subsample_<x>``                         ``s1_fuse.conv_f2s.<x>``
  ``t_res<N>_<M>_branch2c_bn_subsample_bn_<x>``     ``s<N>_fuse.bn.<x>``
  ``t_res<N>_<M>_branch2c_bn_subsample_<x>``        ``s<N>_fuse.conv_f2s.<x>``
  ``[t_]res<N>_<M>_branch2<a|b|c>_<x>``             ``s<N>.pathwayP_res<M>.branch2.<a|b|c>_<x>``
  ``[t_]res<N>_<M>_branch1_<x>``                    ``s<N>.pathwayP_res<M>.branch1_<x>``
  ``[t_]res_conv1_bn_<x>``                          ``s1.pathwayP_stem.bn.<x>``
  ``[t_]res_conv1_<x>`` / ``[t_]conv1_<x>``         ``s1.pathwayP_stem.conv.<x>``
  ``pred_<x>``                                      ``head.projection.<x>``
  ================================================  ====================================

then the first matching suffix rule names the tensor: ``bn_s`` -> ``bn.weight``,
``bn_b`` -> ``bn.bias``, ``bn_rm`` -> ``bn.running_mean``, ``bn_riv`` -> ``bn.running_var``
(the separator before ``s/b/rm/riv`` may be ``_`` or ``.``), then ``_w`` / ``.w`` ->
``.weight`` and ``_b`` / ``.b`` -> ``.bias``. Examples: ``res2_0_branch2a_w`` ->
``s2.pathway0_res0.branch2.a.weight``; ``t_res3_1_branch2b_bn_riv`` ->
``s3.pathway1_res1.branch2.b_bn.running_var``; ``res_conv1_bn_s`` ->
``s1.pathway0_stem.bn.weight``; ``pred_w`` -> ``head.projection.weight``. Blobs that map to no
model key (solver state such as ``*_momentum``, ``lr``, ``model_iter``; non-local blocks, which
this framework does not implement) are reported, not loaded. A blob with fewer dimensions
than its model tensor gets trailing singleton dimensions (fully connected -> 1x1x1 conv).
"""
import pickle
import re

import numpy as np

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}
_SAFE_BUILTINS = {
    "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool", "str", "bytes", "bytearray",
}


class Caffe2LoadError(RuntimeError):
    """A .pkl that is unsafe or not a Caffe2 checkpoint."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module in ("builtins", "__builtin__") and name in _SAFE_BUILTINS:
            return super().find_class("builtins", name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a Caffe2 checkpoint")


def load_caffe2_blobs(path):
    """Return ``{blob name: numpy array}`` from a Caffe2 .pkl without running pickled code."""
    try:
        with open(path, "rb") as f:
            data = _RestrictedUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise Caffe2LoadError(f"{path}: refused to load: {e}") from e
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise Caffe2LoadError(f"{path}: not a readable Caffe2 pickle ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("blobs"), dict):
        raise Caffe2LoadError(f"{path}: expected a dict with a 'blobs' dict (a Caffe2 checkpoint)")
    blobs = {}
    for name, value in data["blobs"].items():
        if isinstance(value, np.ndarray):
            blobs[str(name)] = value
    return blobs


_P = r"(?P<t>t_)?"
_STRUCTURE = [
    (r"^t_pool1_subsample_bn_(?P<x>.+)$", "s1_fuse.bn.{x}"),
    (r"^t_pool1_subsample_(?P<x>.+)$", "s1_fuse.conv_f2s.{x}"),
    (r"^t_res(?P<n>\d+)_(?P<m>\d+)_branch2c_bn_subsample_bn_(?P<x>.+)$", "s{n}_fuse.bn.{x}"),
    (r"^t_res(?P<n>\d+)_(?P<m>\d+)_branch2c_bn_subsample_(?P<x>.+)$", "s{n}_fuse.conv_f2s.{x}"),
    (_P + r"res(?P<n>\d+)_(?P<m>\d+)_branch2(?P<b>[a-z])_(?P<x>.+)$", "s{n}.pathway{p}_res{m}.branch2.{b}_{x}"),
    (_P + r"res(?P<n>\d+)_(?P<m>\d+)_branch1_(?P<x>.+)$", "s{n}.pathway{p}_res{m}.branch1_{x}"),
    (_P + r"res_conv1_bn_(?P<x>.+)$", "s1.pathway{p}_stem.bn.{x}"),
    (_P + r"(?:res_)?conv1_(?P<x>.+)$", "s1.pathway{p}_stem.conv.{x}"),
    (r"^pred_(?P<x>.+)$", "head.projection.{x}"),
]
_SUFFIX = [
    (r"bn[._]s$", "bn.weight"),
    (r"bn[._]b$", "bn.bias"),
    (r"bn[._]rm$", "bn.running_mean"),
    (r"bn[._]riv$", "bn.running_var"),
    (r"[._]w$", ".weight"),
    (r"[._]b$", ".bias"),
]
_STRUCTURE = [(re.compile(p if p.startswith("^") else "^" + p), r) for p, r in _STRUCTURE]
_SUFFIX = [(re.compile(p), r) for p, r in _SUFFIX]


def caffe2_to_pytorch_name(name):
    """Our state-dict key for a Caffe2 blob name (see the module docstring)."""
    for pattern, template in _STRUCTURE:
        m = pattern.match(name)
        if m:
            groups = {k: v for k, v in m.groupdict().items() if k != "t"}
            name = template.format(p=1 if m.groupdict().get("t") else 0, **groups)
            break
    for pattern, replacement in _SUFFIX:
        if pattern.search(name):
            return pattern.sub(replacement, name)
    return name


def blobs_to_state_dict(blobs, model_state):
    """Map blobs to model keys. Returns (state_dict of numpy arrays, unconverted blob names)."""
    converted, unconverted = {}, []
    for blob_name, array in blobs.items():
        key = caffe2_to_pytorch_name(blob_name)
        if key not in model_state:
            unconverted.append(blob_name)
            continue
        target_ndim = model_state[key].ndim
        if array.ndim < target_ndim:
            array = array.reshape(array.shape + (1,) * (target_ndim - array.ndim))
        converted[key] = array
    return converted, unconverted
