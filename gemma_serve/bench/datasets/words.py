"""Random English text whose words are mostly one Gemma token each."""

from __future__ import annotations

import numpy as np

# Common lower-case words: each is a single token with its leading space in
# Gemma's SentencePiece vocabulary, so `n` words is close to `n` tokens.
_WORDS = tuple(
    dict.fromkeys(
        """
    the of and to in is was for on that with as by at from his he it an are were
    which be this had not or have but one their first new after they who two has
    its also been her other more time all into there would during only when can
    may over most some up she these city year world out than where game school
    then state years about later three under each including between both team
    through part what such film many season since known no well first group
    water house small great long high light night music story place power world
    line river open market money order paper party point public right road room
    sound table tree voice watch white woman word work young area book body car
    case child door early eye face fact family field fire food friend girl hand
    head heart home hour idea king land level life man mind month mother name
    office peace people plan question reason report rest sea side son south
    space stone street study sun system thing town train week window wood
        """.split()
    )
)


def random_text(n_words: int, rng: np.random.Generator) -> str:
    """`n_words` words drawn uniformly at random (unique prompts defeat prefix caches)."""
    if n_words <= 0:
        return ""
    idx = rng.integers(0, len(_WORDS), size=n_words)
    return " ".join(_WORDS[i] for i in idx)
