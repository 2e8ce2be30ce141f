"""Every config key this framework implements, with PySlowFast's names and defaults.

Keys that exist in PySlowFast but that we do not implement live in
``pyslowfast_inert.yaml`` beside this file: they load (so users' YAMLs and full
``cfg.dump()`` files load unchanged) but must keep PySlowFast's default value.
Keys marked "(ours)" do not exist in PySlowFast.
"""
from yacs.config import CfgNode

_C = CfgNode()

# ---------------------------------------------------------------------------- #
# Batch norm
# ---------------------------------------------------------------------------- #
_C.BN = CfgNode()
# Recompute BN statistics on training data after each epoch (precise BN).
_C.BN.USE_PRECISE_STATS = False
# Number of batches used to compute precise BN statistics.
_C.BN.NUM_BATCHES_PRECISE = 200
# Weight decay applied to BN parameters.
_C.BN.WEIGHT_DECAY = 0.0
# Norm type: `batchnorm`, `sync_batchnorm` (`sub_batchnorm` is not implemented).
_C.BN.NORM_TYPE = "batchnorm"
# SubBatchNorm splits (only 1 is implemented).
_C.BN.NUM_SPLITS = 1
# Devices per NaiveSyncBatchNorm group (only 1 is implemented; sync_batchnorm syncs globally).
_C.BN.NUM_SYNC_DEVICES = 1
# Sync BN statistics across all devices.
_C.BN.GLOBAL_SYNC = False
# BN momentum (older PySlowFast key, used by the official MECCANO first-version configs).
_C.BN.MOMENTUM = 0.1
# BN epsilon (ours; PySlowFast hard-codes 1e-5).
_C.BN.EPSILON = 1e-5

# ---------------------------------------------------------------------------- #
# Training
# ---------------------------------------------------------------------------- #
_C.TRAIN = CfgNode()
# Train the model; if False skip training.
_C.TRAIN.ENABLE = True
# Dataset name in the dataset registry (`meccano`, `video_folder`, `kinetics`).
_C.TRAIN.DATASET = "kinetics"
# Total mini-batch size over all processes.
_C.TRAIN.BATCH_SIZE = 64
# Evaluate on the val split every this many epochs.
_C.TRAIN.EVAL_PERIOD = 10
# Save a checkpoint every this many epochs.
_C.TRAIN.CHECKPOINT_PERIOD = 10
# Resume from the newest complete checkpoint in OUTPUT_DIR/checkpoints.
_C.TRAIN.AUTO_RESUME = True
# Checkpoint to initialise the weights from (fine-tuning).
_C.TRAIN.CHECKPOINT_FILE_PATH = ""
# Checkpoint format: `pytorch` (.pyth) or `caffe2` (.pkl).
_C.TRAIN.CHECKPOINT_TYPE = "pytorch"
# Inflate 2D weights to 3D when loading a checkpoint.
_C.TRAIN.CHECKPOINT_INFLATE = False
# Start from epoch 0 after loading TRAIN.CHECKPOINT_FILE_PATH.
_C.TRAIN.CHECKPOINT_EPOCH_RESET = False
# Remove these name prefixes from checkpoint keys before loading.
_C.TRAIN.CHECKPOINT_CLEAR_NAME_PATTERN = ()
# Load the checkpoint inside model construction (PySlowFast key; same effect here).
_C.TRAIN.CHECKPOINT_IN_INIT = False
# Stop when the loss exceeds this factor times its running mean (0 disables).
_C.TRAIN.KILL_LOSS_EXPLOSION_FACTOR = 0.0
# Mixed precision training (autocast); dtype set by TRAIN.MIXED_PRECISION_DTYPE.
_C.TRAIN.MIXED_PRECISION = False
# Autocast dtype for mixed precision: `bfloat16` or `float16` (float16 adds a grad scaler) (ours).
_C.TRAIN.MIXED_PRECISION_DTYPE = "float16"
# Accumulate gradients over this many iterations per optimizer step (ours).
_C.TRAIN.GRAD_ACCUM_STEPS = 1
# Metric that selects best.pyth: `val_top1`, `val_top5`, `val_mean_class_acc` or `val_loss` (ours).
_C.TRAIN.BEST_METRIC = "val_top1"

# ---------------------------------------------------------------------------- #
# Augmentation (PySlowFast's RandAugment / random erasing options)
# ---------------------------------------------------------------------------- #
_C.AUG = CfgNode()
# Enable RandAugment + random erasing.
_C.AUG.ENABLE = False
# Repeated augmentation: clips drawn per sample per iteration.
_C.AUG.NUM_SAMPLE = 1
# Colour jitter strength (brightness/contrast/saturation) when RandAugment is off.
_C.AUG.COLOR_JITTER = 0.4
# RandAugment policy string, timm style.
_C.AUG.AA_TYPE = "rand-m9-mstd0.5-inc1"
# Interpolation for augmentation resizing.
_C.AUG.INTERPOLATION = "bicubic"
# Probability of random erasing.
_C.AUG.RE_PROB = 0.25
# Random erasing fill mode.
_C.AUG.RE_MODE = "pixel"
# Number of random erasing boxes.
_C.AUG.RE_COUNT = 1
# Do not erase the first (clean) split.
_C.AUG.RE_SPLIT = False
# Colour jitter probability per clip for per-frame models (ours; 0 disables).
_C.AUG.COLOR_JITTER_PROB = 0.0

# ---------------------------------------------------------------------------- #
# Mixup / CutMix
# ---------------------------------------------------------------------------- #
_C.MIXUP = CfgNode()
# Enable mixup / cutmix.
_C.MIXUP.ENABLE = False
# Mixup beta-distribution alpha.
_C.MIXUP.ALPHA = 0.8
# CutMix beta-distribution alpha.
_C.MIXUP.CUTMIX_ALPHA = 1.0
# Probability of applying mixup or cutmix to a batch.
_C.MIXUP.PROB = 1.0
# Probability of cutmix instead of mixup when both are on.
_C.MIXUP.SWITCH_PROB = 0.5
# Label smoothing applied to the mixed targets.
_C.MIXUP.LABEL_SMOOTH_VALUE = 0.1

# ---------------------------------------------------------------------------- #
# Testing
# ---------------------------------------------------------------------------- #
_C.TEST = CfgNode()
# Run the multi-view test after training.
_C.TEST.ENABLE = True
# Dataset name for testing.
_C.TEST.DATASET = "kinetics"
# Total test mini-batch size over all processes.
_C.TEST.BATCH_SIZE = 8
# Checkpoint to test; empty = best.pyth (or the last checkpoint) of this run.
_C.TEST.CHECKPOINT_FILE_PATH = ""
# Temporal views per sample.
_C.TEST.NUM_ENSEMBLE_VIEWS = 10
# Spatial crops per temporal view (1 = centre, 3 = both ends and centre).
_C.TEST.NUM_SPATIAL_CROPS = 3
# Checkpoint format for TEST.CHECKPOINT_FILE_PATH.
_C.TEST.CHECKPOINT_TYPE = "pytorch"
# Extra file name for the test predictions, relative to OUTPUT_DIR (predictions.npz is always written).
_C.TEST.SAVE_RESULTS_PATH = ""
# Per-dataset number of temporal clips (PySlowFast key; only [] is implemented).
_C.TEST.NUM_TEMPORAL_CLIPS = []
# Number of seeded random test subsets to report (ours; 0 disables).
_C.TEST.NUM_SUBSETS = 0
# Fraction of the test samples in each random subset (ours).
_C.TEST.SUBSET_FRACTION = 0.5

# ---------------------------------------------------------------------------- #
# ResNet
# ---------------------------------------------------------------------------- #
_C.RESNET = CfgNode()
# Residual transformation: `bottleneck_transform` or `basic_transform`.
_C.RESNET.TRANS_FUNC = "bottleneck_transform"
# Number of groups (1 = ResNet, >1 = ResNeXt).
_C.RESNET.NUM_GROUPS = 1
# Width of each group.
_C.RESNET.WIDTH_PER_GROUP = 64
# ReLU in place.
_C.RESNET.INPLACE_RELU = True
# Apply the stride on the 1x1 conv instead of the 3x3.
_C.RESNET.STRIDE_1X1 = False
# Zero-initialise the final BN gamma of each residual block.
_C.RESNET.ZERO_INIT_FINAL_BN = False
# Zero-initialise the final conv of each residual block.
_C.RESNET.ZERO_INIT_FINAL_CONV = False
# Network depth: 18, 50 or 101.
_C.RESNET.DEPTH = 50
# Per stage and pathway: how many blocks use a temporal kernel > 1.
_C.RESNET.NUM_BLOCK_TEMP_KERNEL = [[3], [4], [6], [3]]
# Per stage and pathway: spatial stride.
_C.RESNET.SPATIAL_STRIDES = [[1], [2], [2], [2]]
# Per stage and pathway: spatial dilation.
_C.RESNET.SPATIAL_DILATIONS = [[1], [1], [1], [1]]

# ---------------------------------------------------------------------------- #
# X3D (keys load; the architecture is not implemented)
# ---------------------------------------------------------------------------- #
_C.X3D = CfgNode()
# Width expansion factor.
_C.X3D.WIDTH_FACTOR = 1.0
# Depth expansion factor.
_C.X3D.DEPTH_FACTOR = 1.0
# Bottleneck expansion factor.
_C.X3D.BOTTLENECK_FACTOR = 1.0
# Width of the last layer before the classifier.
_C.X3D.DIM_C5 = 2048
# Width of the first conv.
_C.X3D.DIM_C1 = 12
# Scale the width of res2.
_C.X3D.SCALE_RES2 = False
# BN before the classifier.
_C.X3D.BN_LIN5 = False
# Channel-wise 3x3x3 convs.
_C.X3D.CHANNELWISE_3x3x3 = True

# ---------------------------------------------------------------------------- #
# Non-local (keys load; only empty LOCATION is implemented)
# ---------------------------------------------------------------------------- #
_C.NONLOCAL = CfgNode()
# Per stage and pathway: block indices that get a non-local layer.
_C.NONLOCAL.LOCATION = [[[]], [[]], [[]], [[]]]
# Per stage and pathway: number of groups.
_C.NONLOCAL.GROUP = [[1], [1], [1], [1]]
# Non-local instantiation: `dot_product` or `softmax`.
_C.NONLOCAL.INSTANTIATION = "dot_product"
# Per stage and pathway: pooling size.
_C.NONLOCAL.POOL = [
    [[1, 2, 2], [1, 2, 2]],
    [[1, 2, 2], [1, 2, 2]],
    [[1, 2, 2], [1, 2, 2]],
    [[1, 2, 2], [1, 2, 2]],
]

# ---------------------------------------------------------------------------- #
# Model
# ---------------------------------------------------------------------------- #
_C.MODEL = CfgNode()
# Architecture: `slowfast`, `slow`, `i3d`, `c2d`, `mvit`, `cnn_lstm`.
_C.MODEL.ARCH = "slowfast"
# Model class name (PySlowFast's MODEL_REGISTRY name: SlowFast, ResNet, MViT, CNNLSTM).
_C.MODEL.MODEL_NAME = "SlowFast"
# Number of classes.
_C.MODEL.NUM_CLASSES = 400
# Loss: `cross_entropy`, `soft_cross_entropy`, `bce`, `bce_logit`.
_C.MODEL.LOSS_FUNC = "cross_entropy"
# Architectures with a single pathway.
_C.MODEL.SINGLE_PATHWAY_ARCH = ["2d", "c2d", "i3d", "slow", "x3d", "mvit", "maskmvit"]
# Architectures with several pathways.
_C.MODEL.MULTI_PATHWAY_ARCH = ["slowfast"]
# Dropout before the final projection.
_C.MODEL.DROPOUT_RATE = 0.5
# Drop-connect rate for residual blocks (only 0.0 is implemented).
_C.MODEL.DROPCONNECT_RATE = 0.0
# Std of the normal init of the classifier.
_C.MODEL.FC_INIT_STD = 0.01
# Activation of the head in PySlowFast's eval mode; our models return logits and the loop applies it.
_C.MODEL.HEAD_ACT = "softmax"
# Activation checkpointing (per stage for ResNets, per block for MViT).
_C.MODEL.ACT_CHECKPOINT = False
# Detach the input of the final classifier.
_C.MODEL.DETACH_FINAL_FC = False
# Freeze all BatchNorm layers (eval mode, no grad) for fine-tuning.
_C.MODEL.FROZEN_BN = False
# All-reduce gradients in fp16.
_C.MODEL.FP16_ALLREDUCE = False
# Compile the model with torch.compile, falling back to eager when unsupported (ours).
_C.MODEL.COMPILE = False
# torch.compile mode (ours).
_C.MODEL.COMPILE_MODE = "default"
# Use channels-last(-3d) memory format for convolutional models (ours).
_C.MODEL.CHANNELS_LAST = False

# ---------------------------------------------------------------------------- #
# MViT
# ---------------------------------------------------------------------------- #
_C.MVIT = CfgNode()
# Pooling mode: `conv`, `max`, `avg`, `conv_unshared`.
_C.MVIT.MODE = "conv"
# Pool before the q/k/v projection.
_C.MVIT.POOL_FIRST = False
# Prepend a cls token.
_C.MVIT.CLS_EMBED_ON = True
# Patch embedding kernel.
_C.MVIT.PATCH_KERNEL = [3, 7, 7]
# Patch embedding stride.
_C.MVIT.PATCH_STRIDE = [2, 4, 4]
# Patch embedding padding.
_C.MVIT.PATCH_PADDING = [2, 4, 4]
# 2D patch embedding (only False is implemented).
_C.MVIT.PATCH_2D = False
# Embedding width of the first stage.
_C.MVIT.EMBED_DIM = 96
# Heads of the first stage.
_C.MVIT.NUM_HEADS = 1
# MLP hidden width ratio.
_C.MVIT.MLP_RATIO = 4.0
# Bias in the qkv projection.
_C.MVIT.QKV_BIAS = True
# Stochastic depth rate (linearly increasing over blocks).
_C.MVIT.DROPPATH_RATE = 0.1
# Layer-scale init (0 disables; only 0 is implemented).
_C.MVIT.LAYER_SCALE_INIT_VALUE = 0.0
# Number of transformer blocks.
_C.MVIT.DEPTH = 16
# Normalisation layer (only `layernorm`).
_C.MVIT.NORM = "layernorm"
# [[block, factor], ...]: channel multiplication points.
_C.MVIT.DIM_MUL = []
# [[block, factor], ...]: head multiplication points.
_C.MVIT.HEAD_MUL = []
# [[block, t, h, w], ...]: kv pooling strides.
_C.MVIT.POOL_KV_STRIDE = []
# Initial kv stride, halved wherever q is pooled (overrides POOL_KV_STRIDE).
_C.MVIT.POOL_KV_STRIDE_ADAPTIVE = None
# [[block, t, h, w], ...]: q pooling strides.
_C.MVIT.POOL_Q_STRIDE = []
# Pooling kernel for q, k and v; None derives it from the stride.
_C.MVIT.POOL_KVQ_KERNEL = None
# No weight decay on position and cls embeddings.
_C.MVIT.ZERO_DECAY_POS_CLS = True
# LayerNorm after the patch embedding.
_C.MVIT.NORM_STEM = False
# Separate space and time absolute position embeddings.
_C.MVIT.SEP_POS_EMBED = False
# Dropout before the head.
_C.MVIT.DROPOUT_RATE = 0.0
# Absolute position embedding.
_C.MVIT.USE_ABS_POS = True
# Decomposed relative position bias in space.
_C.MVIT.REL_POS_SPATIAL = False
# Decomposed relative position bias in time.
_C.MVIT.REL_POS_TEMPORAL = False
# Zero-initialise the relative position tables.
_C.MVIT.REL_POS_ZERO_INIT = False
# Add the pooled query to the attention output.
_C.MVIT.RESIDUAL_POOLING = False
# Change the width inside attention (MViTv2) instead of in the MLP.
_C.MVIT.DIM_MUL_IN_ATT = False
# Separate q, k, v linear layers (only False is implemented).
_C.MVIT.SEPARATE_QKV = False
# Scale of the head's init.
_C.MVIT.HEAD_INIT_SCALE = 1.0
# Mean-pool tokens instead of the cls token (only False is implemented).
_C.MVIT.USE_MEAN_POOLING = False
# Fixed sin-cos position embedding (only False is implemented).
_C.MVIT.USE_FIXED_SINCOS_POS = False
# Attention implementation: `sdpa` (fused scaled_dot_product_attention) or `explicit` (matmul + softmax oracle) (ours).
_C.MVIT.ATTN_IMPL = "sdpa"

# ---------------------------------------------------------------------------- #
# SlowFast
# ---------------------------------------------------------------------------- #
_C.SLOWFAST = CfgNode()
# Inverse channel ratio between the Slow and Fast pathways (beta).
_C.SLOWFAST.BETA_INV = 8
# Frame-rate ratio between the Fast and Slow pathways (alpha).
_C.SLOWFAST.ALPHA = 8
# Channel ratio of the fast-to-slow fusion conv.
_C.SLOWFAST.FUSION_CONV_CHANNEL_RATIO = 2
# Temporal kernel of the fast-to-slow fusion conv.
_C.SLOWFAST.FUSION_KERNEL_SZ = 5

# ---------------------------------------------------------------------------- #
# MobileNet + LSTM over sparse frames (ours)
# ---------------------------------------------------------------------------- #
_C.CNN_LSTM = CfgNode()
# Per-frame torchvision backbone: mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, resnet18.
_C.CNN_LSTM.BACKBONE = "mobilenet_v2"
# Backbone weights: "" (random init), "imagenet" (torchvision weights API) or a state-dict path.
_C.CNN_LSTM.BACKBONE_WEIGHTS = ""
# Backbone width multiplier (MobileNet backbones only; tests use tiny widths).
_C.CNN_LSTM.WIDTH_MULT = 1.0
# Freeze all backbone weights.
_C.CNN_LSTM.FREEZE_BACKBONE = False
# Keep the backbone's BatchNorm layers in eval mode (small data).
_C.CNN_LSTM.FREEZE_BN = False
# LSTM hidden size.
_C.CNN_LSTM.HIDDEN_SIZE = 256
# LSTM layers.
_C.CNN_LSTM.NUM_LAYERS = 1
# Bidirectional LSTM.
_C.CNN_LSTM.BIDIRECTIONAL = False
# Dropout between LSTM layers and before the classifier.
_C.CNN_LSTM.DROPOUT = 0.0
# Temporal pooling of LSTM outputs: `last` or `mean`.
_C.CNN_LSTM.POOL = "last"
# Feed only the first N sampled frames to the model (0 = all).
_C.CNN_LSTM.NUM_FRAMES_USED = 0

# ---------------------------------------------------------------------------- #
# Data
# ---------------------------------------------------------------------------- #
_C.DATA = CfgNode()
# Root of the frames or videos.
_C.DATA.PATH_TO_DATA_DIR = ""
# Folder of annotation lists; "" = the dataset's built-in lists (data_lists/<dataset>) (ours).
_C.DATA.PATH_TO_ANNOTATIONS = ""
# Separator between path and label in video list files.
_C.DATA.PATH_LABEL_SEPARATOR = " "
# Prefix prepended to the video paths in list files.
_C.DATA.PATH_PREFIX = ""
# Frames per clip (the fast pathway for SlowFast).
_C.DATA.NUM_FRAMES = 8
# Frame stride between sampled frames (for `stride` sampling).
_C.DATA.SAMPLING_RATE = 8
# Temporal sampling: `stride` (PySlowFast), `segment_uniform` (official MECCANO), `random_sorted` (ours).
_C.DATA.SAMPLING_METHOD = "stride"
# PCA jitter eigenvalues (RGB).
_C.DATA.TRAIN_PCA_EIGVAL = [0.225, 0.224, 0.229]
# PCA jitter eigenvectors.
_C.DATA.TRAIN_PCA_EIGVEC = [
    [-0.5675, 0.7192, 0.4009],
    [-0.5808, -0.0045, -0.814],
    [-0.5836, -0.6948, 0.4203],
]
# Per-channel mean, applied on the device after /255.
_C.DATA.MEAN = [0.45, 0.45, 0.45]
# Input channels per pathway.
_C.DATA.INPUT_CHANNEL_NUM = [3, 3]
# Per-channel std, applied on the device after /255.
_C.DATA.STD = [0.225, 0.225, 0.225]
# Training short-side scale jitter range.
_C.DATA.TRAIN_JITTER_SCALES = [256, 320]
# Inception-style relative area range; non-empty replaces TRAIN_JITTER_SCALES.
_C.DATA.TRAIN_JITTER_SCALES_RELATIVE = []
# Inception-style aspect ratio range.
_C.DATA.TRAIN_JITTER_ASPECT_RELATIVE = []
# Uniform-stride sampling that spans the whole video (PySlowFast's offset sampling).
_C.DATA.USE_OFFSET_SAMPLING = False
# Motion-shift augmentation (only False is implemented).
_C.DATA.TRAIN_JITTER_MOTION_SHIFT = False
# Training crop size.
_C.DATA.TRAIN_CROP_SIZE = 224
# Test crop size (short side is resized to it).
_C.DATA.TEST_CROP_SIZE = 256
# Video fps that sampling assumes for video files (frames are resampled to it).
_C.DATA.TARGET_FPS = 30
# PySlowFast's video decoder choice; we always decode videos with PyAV and frames with libjpeg.
_C.DATA.DECODING_BACKEND = "pyav"
# Sample the jitter scale as 1/U(1/max, 1/min).
_C.DATA.INV_UNIFORM_SAMPLE = False
# Random horizontal flip in training.
_C.DATA.RANDOM_FLIP = True
# Multi-label classification (only False is implemented).
_C.DATA.MULTI_LABEL = False
# Test-view ensemble: `sum` or `max` of softmax scores.
_C.DATA.ENSEMBLE_METHOD = "sum"
# Swap RGB to BGR.
_C.DATA.REVERSE_INPUT_CHANNEL = False
# Short side PySlowFast's decoder resizes to (informational here).
_C.DATA.DECODING_SHORT_SIZE = 256
# Probability of converting a training clip to grayscale.
_C.DATA.COLOR_RND_GRAYSCALE = 0.0
# Frames per second of the MECCANO frames (ours).
_C.DATA.FPS = 12
# Fraction of training items that may be unreadable before the run stops (ours).
_C.DATA.MAX_BAD_FRACTION = 0.01
# Where JPEG frames are decoded: `cpu` (workers) or `cuda` (nvJPEG on raw bytes) (ours).
_C.DATA.DECODE_DEVICE = "cpu"

# ---------------------------------------------------------------------------- #
# Solver
# ---------------------------------------------------------------------------- #
_C.SOLVER = CfgNode()
# Base learning rate.
_C.SOLVER.BASE_LR = 0.1
# LR policy: `cosine`, `steps_with_relative_lrs`, `constant`.
_C.SOLVER.LR_POLICY = "cosine"
# Final LR of the cosine policy.
_C.SOLVER.COSINE_END_LR = 0.0
# Exponential decay factor.
_C.SOLVER.GAMMA = 0.1
# Step size for the exponential policy (epochs).
_C.SOLVER.STEP_SIZE = 1
# Epochs where steps_* policies change the LR.
_C.SOLVER.STEPS = []
# Relative LRs of steps_with_relative_lrs.
_C.SOLVER.LRS = []
# Number of epochs.
_C.SOLVER.MAX_EPOCH = 300
# SGD momentum.
_C.SOLVER.MOMENTUM = 0.9
# SGD dampening.
_C.SOLVER.DAMPENING = 0.0
# Nesterov momentum.
_C.SOLVER.NESTEROV = True
# Weight decay.
_C.SOLVER.WEIGHT_DECAY = 1e-4
# Warm-up start factor (unused by PySlowFast's policies; kept for compatibility).
_C.SOLVER.WARMUP_FACTOR = 0.1
# Linear warm-up length in epochs.
_C.SOLVER.WARMUP_EPOCHS = 0.0
# LR at the start of warm-up (may be above BASE_LR).
_C.SOLVER.WARMUP_START_LR = 0.01
# Optimizer: `sgd` or `adamw`.
_C.SOLVER.OPTIMIZING_METHOD = "sgd"
# Scale BASE_LR, WARMUP_START_LR and COSINE_END_LR by NUM_SHARDS.
_C.SOLVER.BASE_LR_SCALE_NUM_SHARDS = False
# Cosine starts after the warm-up instead of at epoch 0.
_C.SOLVER.COSINE_AFTER_WARMUP = False
# No weight decay for 1-D parameters (biases, norms).
_C.SOLVER.ZERO_WD_1D_PARAM = False
# Clip gradients by value (None disables).
_C.SOLVER.CLIP_GRAD_VAL = None
# Clip gradients by global L2 norm (None disables).
_C.SOLVER.CLIP_GRAD_L2NORM = None
# LARS wrapper (only False is implemented).
_C.SOLVER.LARS_ON = False
# Layer-wise LR decay (only 1.0 is implemented).
_C.SOLVER.LAYER_DECAY = 1.0
# Adam betas.
_C.SOLVER.BETAS = (0.9, 0.999)

# ---------------------------------------------------------------------------- #
# Misc
# ---------------------------------------------------------------------------- #
# Number of GPUs per machine (0 = CPU).
_C.NUM_GPUS = 1
# Number of machines.
_C.NUM_SHARDS = 1
# Index of this machine.
_C.SHARD_ID = 0
# Output directory of the run.
_C.OUTPUT_DIR = "./tmp"
# Seed of every RNG.
_C.RNG_SEED = 1
# Log every this many iterations (the only per-step host syncs).
_C.LOG_PERIOD = 10
# Log model statistics (params, FLOPs, activations) at start.
_C.LOG_MODEL_INFO = True
# Distributed backend on GPUs (gloo is always used on CPU).
_C.DIST_BACKEND = "nccl"
# Task name (only "" is implemented).
_C.TASK = ""

# ---------------------------------------------------------------------------- #
# Data loader
# ---------------------------------------------------------------------------- #
_C.DATA_LOADER = CfgNode()
# Worker processes per training process.
_C.DATA_LOADER.NUM_WORKERS = 8
# Pin host memory (only used on CUDA).
_C.DATA_LOADER.PIN_MEMORY = True
# Multi-threaded decoding inside a worker.
_C.DATA_LOADER.ENABLE_MULTI_THREAD_DECODE = False
# Batches prefetched per worker (ours).
_C.DATA_LOADER.PREFETCH_FACTOR = 4
# Keep workers alive between epochs (ours).
_C.DATA_LOADER.PERSISTENT_WORKERS = True

# ---------------------------------------------------------------------------- #
# TensorBoard
# ---------------------------------------------------------------------------- #
_C.TENSORBOARD = CfgNode()
# Write TensorBoard events under OUTPUT_DIR/tensorboard (or LOG_DIR).
_C.TENSORBOARD.ENABLE = False
# PySlowFast's predictions file for offline visualisation (unused).
_C.TENSORBOARD.PREDICTIONS_PATH = ""
# Event directory, relative to OUTPUT_DIR; "" = tensorboard.
_C.TENSORBOARD.LOG_DIR = ""
# JSON {name: id} of class names for plots; "" = the dataset's own names.
_C.TENSORBOARD.CLASS_NAMES_PATH = ""
# Category grouping file (unused).
_C.TENSORBOARD.CATEGORIES_PATH = ""
_C.TENSORBOARD.CONFUSION_MATRIX = CfgNode()
# Log the confusion matrix image on val/test.
_C.TENSORBOARD.CONFUSION_MATRIX.ENABLE = False
# Confusion matrix figure size (inches).
_C.TENSORBOARD.CONFUSION_MATRIX.FIGSIZE = [8, 8]
# Subset of classes to plot (unused).
_C.TENSORBOARD.CONFUSION_MATRIX.SUBSET_PATH = ""


def get_cfg():
    """A fresh copy of the full default tree, PySlowFast-compatible keys included."""
    from slowfast.config.compat import add_inert_keys

    cfg = _C.clone()
    add_inert_keys(cfg)
    return cfg
