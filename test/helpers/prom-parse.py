"""Reads a Prometheus text exposition on stdin; prints its families and samples as JSON.

The official Prometheus Python client's parser (Debian: python3-prometheus-client), so the
metrics tests check what a real scraper reads, not what our own code thinks it wrote.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        # JSON has no NaN or infinities: those travel as strings ("NaN", "+Inf", "-Inf").
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else ("NaN" if math.isnan(s.value) else ("+Inf" if s.value > 0 else "-Inf"))} for s in family.samples],
    })
json.dump(families, sys.stdout)
