"""Domain core of ecs-reboot-diagnosis: why did an Alibaba Cloud ECS instance reboot or crash."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecs-reboot-diagnosis")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
