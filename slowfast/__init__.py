"""slowfast: config-driven video action recognition (SlowFast, MViTv2, MobileNet+LSTM) on MECCANO."""
__version__ = "0.1.0"
