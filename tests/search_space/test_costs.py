from __future__ import annotations

from dataclasses import replace

from supernas.search_space import InputSpec, SearchSpace, canonical, costs, largest, token_counts


def test_keep_ratio_half_shortens_the_sequence_and_cuts_macs(space: SearchSpace, digits_spec: InputSpec) -> None:
    full = largest(space)
    pruned = canonical(space, replace(full, keep_ratio=(0.5, 0.5)))
    assert token_counts(space, full, digits_spec) == [17] * 6
    # 16 patch tokens -> 8 kept + 1 fused after layer 2; 9 -> 5 kept + 1 fused after layer 4.
    assert token_counts(space, pruned, digits_spec) == [17, 17, 10, 10, 7, 7]
    assert costs(space, pruned, digits_spec).macs < 0.75 * costs(space, full, digits_spec).macs
    assert costs(space, pruned, digits_spec).params == costs(space, full, digits_spec).params


def test_three_loops_have_a_third_of_the_unique_block_parameters(space: SearchSpace, digits_spec: InputSpec) -> None:
    flat = largest(space)
    looped = canonical(space, replace(flat, loops=3))
    assert looped.unique_blocks == 2 and flat.unique_blocks == 6
    per_layer = 4 * flat.embed_dim  # two LayerNorms per layer, never shared
    base = costs(space, replace(flat, depth=2), digits_spec).params - 2 * per_layer  # stem, head, two blocks
    one_block = (costs(space, flat, digits_spec).params - base - 6 * per_layer) / 4
    flat_blocks = 6 * one_block
    looped_blocks = costs(space, looped, digits_spec).params - (base - 2 * one_block) - 6 * per_layer
    assert looped_blocks / flat_blocks == 1 / 3


def test_fewer_bits_shrink_the_model(space: SearchSpace, digits_spec: InputSpec) -> None:
    fp32 = largest(space)
    int8 = replace(fp32, weight_bits=(8,) * 6)
    int4 = replace(fp32, weight_bits=(4,) * 6)
    sizes = [costs(space, c, digits_spec).model_bytes for c in (fp32, int8, int4)]
    assert sizes[0] == 4 * costs(space, fp32, digits_spec).params
    assert sizes[0] > 2.5 * sizes[1] and sizes[1] > 1.5 * sizes[2]
    one_layer_int8 = replace(fp32, weight_bits=(8, 32, 32, 32, 32, 32))
    assert sizes[1] < costs(space, one_layer_int8, digits_spec).model_bytes < sizes[0]


def test_a_shared_block_is_stored_at_its_widest_bit_width(space: SearchSpace, digits_spec: InputSpec) -> None:
    looped = canonical(space, replace(largest(space), loops=2))  # layers i and i+3 share block i
    mixed = replace(looped, weight_bits=(4, 4, 4, 8, 4, 4))
    all4 = replace(looped, weight_bits=(4,) * 6)
    block0_at_8 = replace(looped, weight_bits=(8, 4, 4, 4, 4, 4))
    assert costs(space, mixed, digits_spec).model_bytes == costs(space, block0_at_8, digits_spec).model_bytes
    assert costs(space, mixed, digits_spec).model_bytes > costs(space, all4, digits_spec).model_bytes
