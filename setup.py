"""Packaging glue pyproject.toml cannot express: ship the top-level ``resources/`` folder
inside the package as ``aigc_studio/resources`` (icons, the bundled digits, model weights).

Everything else (metadata, dependencies, entry points) lives in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["aigc_studio", "aigc_studio.*"]), "aigc_studio.resources"],
    package_dir={"aigc_studio.resources": "resources"},
    package_data={"aigc_studio.resources": ["**/*"]},
)
