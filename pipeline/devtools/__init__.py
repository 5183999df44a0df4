"""Development tools: the local Elasticsearch (`newsmon es`) and evaluation harnesses
for tagging (`newsmon eval-tags`) and extraction (scripts/eval_extraction.py)."""
