"""The one train / eval / test engine: ``slowfast.engine.run(cfg)``, launched by launch.launch_job."""


def run(cfg, ctx=None):
    """Train, validate and test as ``cfg`` says (see slowfast.engine.runner); imported on first use."""
    from slowfast.engine import runner

    return runner.run(cfg, ctx)
