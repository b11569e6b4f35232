"""TSN sampling: the authors' index formulas (0-based here; their files are 1-based)."""
from __future__ import annotations

import numpy as np
import pytest

from ean.data.sampling import (sample_test, sample_train, segment_starts_test,
                               segment_starts_train)


def test_test_centre_formula_matches_authors():
    # authors: tick = (n - 4) / S; start_k = int(tick / 2 + k * tick) + 1 (1-based)
    n, S = 50, 8
    tick = (n - 4) / S
    expected = [int(tick / 2 + k * tick) for k in range(S)]
    assert segment_starts_test(n, S, 5).tolist() == expected
    idx = sample_test(n, S, 5)[0]
    assert idx.shape == (40,)
    assert idx.reshape(8, 5).tolist() == [[s + l for l in range(5)] for s in expected]


def test_two_and_ten_clip_offsets():
    n, S = 60, 8
    tick = (n - 1 + 1) / S  # L = 1
    two = sample_test(n, S, 1, num_clips=2)
    assert two[0].tolist() == [int(k * tick) for k in range(S)]
    assert two[1].tolist() == [int(k * tick + tick / 2) for k in range(S)]
    ten = sample_test(n, S, 1, num_clips=10)
    assert ten.shape == (10, 8)
    assert [ten[c, 1] for c in range(10)] == [int(tick + c * tick / 10) for c in range(10)]
    assert len({tuple(r) for r in ten.tolist()}) == 10


def test_train_random_offset_inside_each_segment():
    n, S, L = 50, 8, 5
    a = (n - L + 1) // S
    for seed in range(20):
        st = segment_starts_train(n, S, L, np.random.default_rng(seed))
        assert all(k * a <= s < (k + 1) * a for k, s in enumerate(st))
    draws = {tuple(segment_starts_train(n, S, L, np.random.default_rng(s))) for s in range(10)}
    assert len(draws) > 1


@pytest.mark.parametrize("n", [1, 3, 7, 9, 12])
def test_short_videos_repeat_the_last_frame(n):
    for idx in (sample_train(n, 8, 5, np.random.default_rng(0)), sample_test(n, 8, 5)[0]):
        assert idx.shape == (40,)
        assert idx.min() >= 0 and idx.max() <= n - 1
        seg = idx.reshape(8, 5)
        # consecutive inside a segment until the video ends, then the last frame repeats
        assert all(np.all(np.diff(s) >= 0) for s in seg)
        assert all(np.all(np.diff(s)[s[1:] < n - 1] == 1) for s in seg)
    if n <= 8:  # authors: all segment starts 0 when n <= num_segments
        assert segment_starts_train(n, 8, 5, np.random.default_rng(0)).tolist() == [0] * 8


def test_train_fewer_frames_than_segments_times_length():
    n = 10  # avail = 6 < 8 segments but n > 8: sorted random starts in [0, n - L]
    st = segment_starts_train(n, 8, 5, np.random.default_rng(3))
    assert np.all(np.diff(st) >= 0) and st.max() <= n - 5


def test_invalid_clip_index():
    with pytest.raises(ValueError, match="clip 2 out of range"):
        segment_starts_test(50, 8, 1, clip=2, num_clips=2)
