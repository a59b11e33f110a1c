"""Regenerate the default recipe: python -m curation.recipes > curation/default_recipe.yaml"""

import yaml

from curation.recipes import merge_fragments

print("# The default recipe: generated from curation/recipes/*.yaml by `python -m curation.recipes`.")
print("# Copy it, change thresholds, and pass it with --recipe (or use --set rules.NAME.max=...).")
print(yaml.safe_dump(merge_fragments(), sort_keys=False, width=120), end="")
