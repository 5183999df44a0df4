"""The one compiled part: the tagger's mention finder and text layout (pipeline/ingest/_scan.c).
Optional: where it does not build (no C compiler), the same code runs in Python."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pipeline.ingest._scan",
            ["pipeline/ingest/_scan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
