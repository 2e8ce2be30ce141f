from setuptools import find_packages, setup

setup(
    name="slowfast-meccano",
    version="0.1.0",
    description="Config-driven video action recognition (SlowFast, MViTv2, MobileNet+LSTM) on MECCANO",
    packages=find_packages(include=["slowfast", "slowfast.*"]),
    package_data={"slowfast.config": ["*.yaml"]},
    python_requires=">=3.9",
    install_requires=[
        "torch>=2.3",
        "torchvision>=0.18",
        "numpy>=1.23",
        "yacs>=0.1.8",
        "pyyaml>=6.0",
        "fvcore>=0.1.5",
        "iopath>=0.1.10",
        "av>=11.0",
        "simplejpeg>=1.7",
        "pillow>=9.0",
        "opencv-python-headless>=4.7",
        "pandas>=1.5",
        "matplotlib>=3.6",
        "tensorboard>=2.12",
        "scipy>=1.10",
        "tqdm>=4.64",
        "psutil>=5.9",
    ],
    extras_require={
        "dev": ["pytest>=7.0", "pytest-timeout>=2.1", "scikit-learn>=1.2"],
    },
)
