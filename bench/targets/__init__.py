"""Targets: prepare and remove memory variants of a Lambda function through boto3.

The same code serves the bundled emulator, moto and real AWS; only the client's
endpoint_url differs, and bench/awsclient.py makes that client. spec.py holds what to
deploy and Lambda's rules for it (bench/config.py applies the same rules to bench.toml),
package.py the zip, variants.py the deployer, local.py the emulator process.
"""

from bench.targets.package import code_sha256, zip_folder
from bench.targets.spec import (
    DEFAULT_ROLE,
    FunctionSpec,
    architecture_problem,
    memory_problem,
    memory_sizes_problem,
    name_problem,
    region_problem,
    timeout_problem,
    validate_memory,
)
from bench.targets.variants import Created, DeployError, Variant, VariantDeployer, alias_name

__all__ = [
    "DEFAULT_ROLE",
    "Created",
    "DeployError",
    "FunctionSpec",
    "Variant",
    "VariantDeployer",
    "alias_name",
    "architecture_problem",
    "code_sha256",
    "memory_problem",
    "memory_sizes_problem",
    "name_problem",
    "region_problem",
    "timeout_problem",
    "validate_memory",
    "zip_folder",
]
