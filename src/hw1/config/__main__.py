"""``python -m hw1.config [schema]``: print the README's table of config keys."""

import sys

from hw1.config.docs import config_keys_markdown

if __name__ == "__main__":
    print(
        config_keys_markdown(
            sys.argv[1] if len(sys.argv) > 1 else "workflow/schemas/config.schema.yaml"
        )
    )
