"""Curation: corpus in -> signals -> curated corpus out.

Score once, threshold later, explain every drop (DESIGN.md, principle 1).
"""
