"""Targets: prepare and remove memory variants of a Lambda function through boto3.

The same code serves the bundled emulator, moto and real AWS; only the client's
endpoint_url differs.
"""

from bench.targets.variants import (
    DEFAULT_ROLE,
    Created,
    DeployError,
    FunctionSpec,
    Variant,
    VariantDeployer,
    alias_name,
    code_sha256,
    make_lambda_client,
    validate_memory,
    zip_folder,
)

__all__ = [
    "DEFAULT_ROLE",
    "Created",
    "DeployError",
    "FunctionSpec",
    "Variant",
    "VariantDeployer",
    "alias_name",
    "code_sha256",
    "make_lambda_client",
    "validate_memory",
    "zip_folder",
]
