"""The demo merchant: `build_demo` fills an empty pool with a believable, reproducible shop."""

from siyu.demo.build import DEMO_AS_OF, build_demo

__all__ = ["DEMO_AS_OF", "build_demo"]
