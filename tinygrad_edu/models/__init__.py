"""Models built of Values: the GPT of lesson 10 (``gpt.py``), the names it learns from
(``names.py``) and the bigram model it is measured against (``bigram.py``)."""
