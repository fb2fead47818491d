"""Frigate companion mode: Frigate's person events recognised as bursts, names written back."""
