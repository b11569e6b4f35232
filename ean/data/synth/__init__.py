"""The embedded synthetic Something-Something-style dataset (see README.md here)."""
from .profiles import PROFILES, SynthProfile, get_profile
from .class_sets import CLASS_NAMES
from .rendering import render
from .spec import make_spec
from .writer import clip_spec, encode_mp4, generate, jobs_for, spec_stats, synthetic_config
from .official import official_data_config, write_official

__all__ = ["PROFILES", "SynthProfile", "get_profile", "CLASS_NAMES",
           "make_spec", "render", "clip_spec", "encode_mp4", "generate", "jobs_for",
           "spec_stats", "synthetic_config", "write_official", "official_data_config"]
