#include <aprhost/core/error.hpp>
#include <aprhost/core/generator.hpp>

#include <chrono>

namespace aprhost::core {

namespace {
using clock_type = std::chrono::steady_clock;
double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}
}  // namespace

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& tmpl, const std::string& user,
                                        const std::string& system) {
    std::vector<ChatMessage> msgs;
    const std::string& sys = system.empty() ? tmpl.default_system : system;
    if (!sys.empty()) msgs.push_back({"system", sys});
    msgs.push_back({"user", user});
    const bool add_bos = tokenizer.add_bos_default() && tmpl.bos_text.empty();
    return tokenizer.encode(tmpl.apply(msgs, true), add_bos, /*parse_special=*/true);
}

GenerationStats generate(Session& session, const Tokenizer& tokenizer, Sampler& sampler,
                         const std::vector<int32_t>& prompt, const GenerateOptions& options,
                         const std::function<bool(std::string_view)>& on_text,
                         const std::function<void(int32_t)>& on_token) {
    if (prompt.empty()) throw Error(ErrorKind::USAGE, "the prompt is empty after tokenization");
    GenerationStats st;
    st.prompt_tokens = uint32_t(prompt.size());
    std::vector<int32_t> history = prompt;
    Utf8Stream utf8;

    const auto t_start = clock_type::now();
    const std::vector<float>* logits = &session.forward(prompt, false);
    st.prefill_ms = ms_since(t_start);
    st.prefill_tok_s = st.prefill_ms > 0 ? st.prompt_tokens / (st.prefill_ms / 1000.0) : 0;

    clock_type::time_point t_first{};
    st.stop_reason = "length";
    for (uint32_t i = 0; i < options.n_predict; ++i) {
        const auto t_step = clock_type::now();
        int32_t tok = sampler.sample(*logits, history);
        if (i == 0) {
            st.ttft_ms = ms_since(t_start);
            t_first = clock_type::now();
        }
        history.push_back(tok);
        st.generated_tokens++;
        if (on_token) on_token(tok);
        const bool eog = tokenizer.is_end_of_generation(tok);
        if (eog && !options.ignore_eos) {
            st.stop_reason = "eos";
            break;
        }
        std::string text = utf8.push(tokenizer.token_to_piece(tok));
        if (!text.empty() && on_text && !on_text(text)) {
            st.stop_reason = "callback";
            break;
        }
        if (i + 1 == options.n_predict) break;
        try {
            logits = &session.forward(std::span<const int32_t>(&tok, 1), false);
        } catch (const Error& e) {
            // A full cache ends generation like a length limit (the KV manager decides what "full" means).
            if (e.kind() != ErrorKind::RESOURCE || !options.stop_at_context_end) throw;
            st.stop_reason = "context";
            break;
        }
        if (i > 0) st.step_ms.push_back(ms_since(t_step));
    }
    std::string tail = utf8.flush();
    if (!tail.empty() && on_text) on_text(tail);
    if (st.generated_tokens > 0) {
        st.decode_ms = ms_since(t_first);
        if (st.generated_tokens > 1 && st.decode_ms > 0)
            st.decode_tok_s = (st.generated_tokens - 1) / (st.decode_ms / 1000.0);
    }
    return st;
}

std::vector<GenerationStats> generate_parallel(Session& session, const Tokenizer& tokenizer,
                                               std::vector<Sampler>& samplers, const std::vector<int32_t>& prompt,
                                               const GenerateOptions& options,
                                               const std::function<void(uint32_t seq, int32_t token)>& on_token,
                                               GenerationStats& aggregate) {
    const uint32_t n = uint32_t(samplers.size());
    if (n == 0 || n > session.n_seq())
        throw Error(ErrorKind::USAGE, "parallel generation of " + std::to_string(n) + " sequences needs a session with " +
                                          "that many (it has " + std::to_string(session.n_seq()) + ")");
    if (prompt.empty()) throw Error(ErrorKind::USAGE, "the prompt is empty after tokenization");
    std::vector<GenerationStats> st(n);
    std::vector<std::vector<int32_t>> history(n, prompt);
    aggregate = GenerationStats{};
    aggregate.prompt_tokens = uint32_t(prompt.size()) * n;  // tokens the sequences hold, shared or computed

    const auto t_start = clock_type::now();
    std::vector<SeqInput> inputs;
    std::vector<float> logits;
    // With a forking KV manager (paged) the prompt is computed once: sequence 0 prefills, the others share its
    // cached blocks and compute only the tokens the manager could not share. Otherwise every sequence prefills.
    uint32_t shared = 0;
    if (n > 1 && session.kv().can_fork()) {
        logits = session.forward(prompt, false);
        std::vector<float> first = logits;
        for (uint32_t s = 1; s < n; ++s) {
            uint32_t have = session.fork(0, s);
            shared += have;
            if (have < prompt.size()) inputs.push_back({s, std::span<const int32_t>(prompt).subspan(have), false});
        }
        std::vector<float> rest = inputs.empty() ? std::vector<float>{} : session.forward_batch(inputs);
        // Rows in sequence order: 0 from the first prefill; a fully shared sequence has sequence 0's logits.
        const size_t V = first.size();
        logits.assign(first.begin(), first.end());
        size_t r = 0;
        for (uint32_t s = 1; s < n; ++s) {
            bool refed = !inputs.empty() && r < inputs.size() && inputs[r].seq == s;
            const float* src = refed ? rest.data() + (r++) * V : first.data();
            logits.insert(logits.end(), src, src + V);
        }
    } else {
        for (uint32_t s = 0; s < n; ++s) inputs.push_back({s, prompt, false});
        logits = session.forward_batch(inputs);
    }
    aggregate.prompt_tokens_shared = shared;
    aggregate.prefill_ms = ms_since(t_start);
    aggregate.prefill_tok_s = aggregate.prompt_tokens / (aggregate.prefill_ms / 1000.0);

    const size_t V = logits.size() / n;
    std::vector<uint32_t> active(n);
    for (uint32_t s = 0; s < n; ++s) active[s] = s, st[s].prompt_tokens = uint32_t(prompt.size()), st[s].stop_reason = "length";
    std::vector<int32_t> next(n);
    clock_type::time_point t_first{};
    uint64_t decoded_after_first = 0;
    for (uint32_t i = 0; i < options.n_predict && !active.empty(); ++i) {
        // Sample one token per running sequence from its row of the last step's logits.
        std::vector<uint32_t> still;
        for (size_t r = 0; r < active.size(); ++r) {
            const uint32_t s = active[r];
            int32_t tok = samplers[s].sample(std::span<const float>(logits.data() + r * V, V), history[s]);
            history[s].push_back(tok);
            st[s].generated_tokens++;
            if (on_token) on_token(s, tok);
            if (i == 0) st[s].ttft_ms = ms_since(t_start);
            if (tokenizer.is_end_of_generation(tok) && !options.ignore_eos) {
                st[s].stop_reason = "eos";
                continue;
            }
            if (i + 1 < options.n_predict) still.push_back(s), next[s] = tok;
        }
        if (i == 0) {
            t_first = clock_type::now();
            aggregate.ttft_ms = ms_since(t_start);
        } else {
            decoded_after_first += active.size();
        }
        active = still;
        if (active.empty()) break;
        inputs.clear();
        for (uint32_t s : active) inputs.push_back({s, std::span<const int32_t>(&next[s], 1), false});
        try {
            logits = session.forward_batch(inputs);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::RESOURCE || !options.stop_at_context_end) throw;
            for (uint32_t s : active) st[s].stop_reason = "context";
            break;
        }
    }
    aggregate.decode_ms = ms_since(t_first);
    for (auto& s : st) aggregate.generated_tokens += s.generated_tokens;
    if (aggregate.decode_ms > 0) aggregate.decode_tok_s = double(decoded_after_first) / (aggregate.decode_ms / 1000.0);
    aggregate.stop_reason = "parallel";
    return st;
}

}  // namespace aprhost::core
