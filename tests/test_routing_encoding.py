"""The router's fast feature vectors: the same vector as the plain analysis, in bounded memory."""

import numpy as np
import pytest

from routing import analysis, encoding, model
from routing.api import load_default

TEXTS = [
    ("Uteserveringen i sommar", "Vi vill ha kvar uteserveringen på trottoaren, uteserveringen!"),
    ("Ny fasadskylt", "Vi vill byta fasadskylten till en större. Bygglovsansökan?"),
    ("Serveringstilstånd", "Hur söker man serveringstilstånd för ölservering?"),
    ("Hamtning av sopor", "Nar kommer hamtningen av matavfallet? Karlet ar fullt."),
    ("Food truck permit", "We want to sell food from a truck at the harbour this summer."),
    ("", "livsmedel livsmedel livsmedelsverksamhet bygglov bygglov bygglov"),
    ("Hej", "Tack!"),  # nothing the model knows
]


@pytest.fixture(scope="module")
def router():
    return load_default()


@pytest.mark.parametrize("subject, body", TEXTS)
def test_encoder_gives_the_plain_analysis_vector(router, subject, body):
    """Same features, in the same order (explanations break ties by it), same weights."""
    expected_indices, expected_values = model.vectorize(
        analysis.features(subject, body, router.lexicon), router.vocabulary, router.idf
    )
    for _twice in range(2):  # from the memo the second time
        indices, values = router.vectorize(subject, body)

        assert indices.tolist() == expected_indices.tolist()
        np.testing.assert_allclose(values, expected_values, rtol=0, atol=1e-12)


def test_word_memo_is_bounded(router):
    encoder = encoding.Encoder(router, memo_words=50)
    text = " ".join(f"ansokan{number}x" for number in range(400))

    encoder.encode("Fråga", text)

    assert encoder.word.cache_info().currsize == 50


def test_a_typo_near_two_known_stems_is_read_the_same_in_every_process():
    """Web and worker processes (each with its own string hashing) must read a text alike."""
    import subprocess
    import sys

    code = (
        "from routing import analysis; "
        "print(analysis.Lexicon.build({'skyltar', 'skyltas'}).correct('skyltars'))"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(8)
    }

    assert answers == {"skyltas"}  # the first letter position that fits


def test_stemmer_gives_snowballs_stems():
    """routing.stemmer (PyStemmer's C code) gives snowballstemmer's generated Python's stem for
    every word of the routing data, every start and ending of those words (compound parts)
    and random letter strings: the committed model was trained with the latter."""
    import random

    # The generated Python itself: snowballstemmer.stemmer() would hand out PyStemmer's.
    from snowballstemmer.swedish_stemmer import SwedishStemmer

    from routing import stemmer, training

    reference = SwedishStemmer()
    words = set()
    for row in training.load_jsonl(training.CORPUS_FILE):
        words.update(analysis.words(f"{row['subject']}\n{row['body']}"))
    for word in list(words):
        words.update(word[i:] for i in range(len(word)))
        words.update(word[:i] for i in range(1, len(word)))
    letters = "aeiouyäåöbcdfghjklmnprstvx"
    rng = random.Random(12)
    words.update("".join(rng.choices(letters, k=rng.randint(1, 12))) for _ in range(20_000))

    differing = [w for w in words if stemmer.stem(w) != reference.stemWord(w)]

    assert len(words) > 50_000
    assert differing == []
