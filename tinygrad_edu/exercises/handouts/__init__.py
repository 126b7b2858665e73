"""The exercise files ``tinygrad-edu exercises init DIR`` copies out, as a learner gets them."""
