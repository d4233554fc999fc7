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
        if (session.n_past() + 1 > session.kv().config().capacity && options.stop_at_context_end) {
            st.stop_reason = "context";
            break;
        }
        logits = &session.forward(std::span<const int32_t>(&tok, 1), false);
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

}  // namespace aprhost::core
