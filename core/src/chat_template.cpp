// Chat templates without a Jinja engine: the format is recognised by the turn markers the Jinja source
// contains, the default system prompt is read out of the template's own string literals, and a built-in
// formatter produces what the HF template renders (trim_blocks/lstrip_blocks, as transformers runs it).
#include <aprhost/core/chat_template.hpp>

#include <algorithm>
#include <optional>

namespace aprhost::core {

const char* chat_format_name(ChatFormat f) {
    switch (f) {
    case ChatFormat::CHATML: return "chatml";
    case ChatFormat::LLAMA3: return "llama3";
    case ChatFormat::LLAMA2: return "llama2";
    case ChatFormat::GEMMA: return "gemma";
    case ChatFormat::ZEPHYR: return "zephyr";
    }
    return "unknown";
}

namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Python's str.strip() / Jinja's trim for the whitespace chat content realistically has.
std::string trim(std::string_view s) {
    const char* ws = " \t\n\r\v\f";
    size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

// One Jinja tag ({{ ... }} or {% ... %}) with the string literals inside it, escapes resolved.
struct JinjaTag {
    std::string_view body;
    std::vector<std::string> literals;
};

// Reads a quoted literal starting at s[i] (the quote); i ends after the closing quote.
std::string read_literal(std::string_view s, size_t& i) {
    char quote = s[i++];
    std::string out;
    while (i < s.size() && s[i] != quote) {
        char c = s[i++];
        if (c != '\\' || i >= s.size()) {
            out += c;
            continue;
        }
        char e = s[i++];
        switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        default: out += e; break;  // \\, \', \" and anything else stand for themselves
        }
    }
    if (i < s.size()) ++i;
    return out;
}

// Splits the template into its tags; comments and raw text between tags are skipped (quotes in raw text are
// prose, not literals).
std::vector<JinjaTag> scan_tags(std::string_view src) {
    std::vector<JinjaTag> tags;
    size_t i = 0;
    while (i + 1 < src.size()) {
        size_t open = src.find('{', i);
        if (open == std::string_view::npos || open + 1 >= src.size()) break;
        char kind = src[open + 1];
        if (kind != '{' && kind != '%' && kind != '#') {
            i = open + 1;
            continue;
        }
        std::string_view close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
        JinjaTag tag;
        size_t j = open + 2;
        while (j < src.size()) {
            if (kind != '#' && (src[j] == '\'' || src[j] == '"')) {
                tag.literals.push_back(read_literal(src, j));
                continue;
            }
            if (src.compare(j, 2, close) == 0) break;
            ++j;
        }
        size_t end = std::min(j, src.size());
        tag.body = src.substr(open + 2, end - (open + 2));
        if (kind != '#') tags.push_back(std::move(tag));
        i = end + 2;
    }
    return tags;
}

// Text a literal carries between an opening and a closing marker, e.g. the system turn a template writes
// itself: '<|im_start|>system\nYou are ...<|im_end|>\n'.
std::optional<std::string> between(const std::string& lit, std::string_view open, std::string_view close) {
    size_t a = lit.find(open);
    if (a == std::string::npos) return std::nullopt;
    a += open.size();
    size_t b = lit.find(close, a);
    if (b == std::string::npos || b == a) return std::nullopt;
    return lit.substr(a, b - a);
}

// `{% set <name with "system"> = '<literal>' %}`: templates that keep their default in a variable.
std::optional<std::string> system_from_set(const JinjaTag& tag) {
    std::string_view b = tag.body;
    size_t s = b.find_first_not_of(" \t\n-+");
    if (s == std::string_view::npos || b.compare(s, 4, "set ") != 0 || tag.literals.size() != 1) return std::nullopt;
    size_t eq = b.find('=', s);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = b.substr(s + 4, eq - (s + 4));
    if (!contains(name, "system")) return std::nullopt;
    // Only a plain assignment of the literal (not "x = messages[0]['content'] + '...'").
    std::string_view rhs = b.substr(eq + 1);
    size_t q = rhs.find_first_not_of(" \t\n");
    if (q == std::string_view::npos || (rhs[q] != '\'' && rhs[q] != '"')) return std::nullopt;
    if (tag.literals[0].empty()) return std::nullopt;
    return tag.literals[0];
}

std::string find_default_system(std::string_view src, ChatFormat format) {
    std::vector<JinjaTag> tags = scan_tags(src);
    std::string_view open, close;
    switch (format) {
    case ChatFormat::CHATML:
        open = "<|im_start|>system\n";
        close = "<|im_end|>";
        break;
    case ChatFormat::LLAMA3:
        open = "<|start_header_id|>system<|end_header_id|>\n\n";
        close = "<|eot_id|>";
        break;
    case ChatFormat::LLAMA2:
        open = "<<SYS>>\n";
        close = "\n<</SYS>>";
        break;
    case ChatFormat::ZEPHYR:
        open = "<|system|>\n";
        close = "</s>";
        break;
    case ChatFormat::GEMMA: break;  // Gemma has no system turn
    }
    if (!open.empty()) {
        for (const JinjaTag& t : tags)
            for (const std::string& lit : t.literals)
                if (auto s = between(lit, open, close)) return *s;
    }
    for (const JinjaTag& t : tags)
        if (auto s = system_from_set(t)) return *s;
    return {};
}

}  // namespace

ChatTemplate ChatTemplate::detect(std::string_view src) {
    ChatTemplate t;
    if (contains(src, "<|im_start|>")) {
        t.format = ChatFormat::CHATML;
    } else if (contains(src, "<|start_header_id|>")) {
        t.format = ChatFormat::LLAMA3;
        if (contains(src, "bos_token") || contains(src, "<|begin_of_text|>")) t.bos_text = "<|begin_of_text|>";
    } else if (contains(src, "[INST]")) {
        t.format = ChatFormat::LLAMA2;
        if (contains(src, "bos_token")) t.bos_text = "<s>";
    } else if (contains(src, "<start_of_turn>")) {
        t.format = ChatFormat::GEMMA;
        if (contains(src, "bos_token")) t.bos_text = "<bos>";
    } else if (contains(src, "<|user|>")) {
        t.format = ChatFormat::ZEPHYR;
    } else {
        t.format = ChatFormat::CHATML;  // empty or unrecognised: ChatML is what most small instruct models use
    }
    if (!src.empty()) t.default_system = find_default_system(src, t.format);
    return t;
}

namespace {

// The conversation with the template's default system turn added when the caller gave none.
std::vector<ChatMessage> with_default_system(const std::vector<ChatMessage>& messages, const std::string& def) {
    std::vector<ChatMessage> out;
    if (!def.empty() && !messages.empty() && messages.front().role != "system") out.push_back({"system", def});
    out.insert(out.end(), messages.begin(), messages.end());
    return out;
}

std::string render_chatml(const std::vector<ChatMessage>& msgs, bool gen) {
    std::string out;
    for (const ChatMessage& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    if (gen) out += "<|im_start|>assistant\n";
    return out;
}

std::string render_llama3(const std::vector<ChatMessage>& msgs, bool gen, const std::string& bos) {
    std::string out = bos;
    for (const ChatMessage& m : msgs)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
    if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// Llama 2 chat: the system prompt is folded into the first user turn inside <<SYS>>; every user turn opens with
// BOS; there is no generation prompt (the model continues after [/INST]). For a single user turn this is also
// what Mistral's [INST] template renders; their multi-turn spacing differs.
std::string render_llama2(const std::vector<ChatMessage>& in, const std::string& default_system,
                          const std::string& bos) {
    std::string system = default_system;
    size_t first = 0;
    if (!in.empty() && in.front().role == "system") {
        system = in.front().content;
        first = 1;
    }
    std::string out;
    for (size_t i = first; i < in.size(); ++i) {
        std::string content;
        if (i == first && !system.empty()) content.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
        content += in[i].content;
        if (in[i].role == "user") {
            out.append(bos).append("[INST] ").append(trim(content)).append(" [/INST]");
        } else if (in[i].role == "assistant") {
            out.append(" ").append(trim(content)).append(" </s>");
        }
    }
    return out;
}

// Gemma: roles user/model, content trimmed; a system message is prepended to the first user turn (Gemma 3).
std::string render_gemma(const std::vector<ChatMessage>& in, bool gen, const std::string& bos) {
    std::string out = bos;
    std::string prefix;
    size_t first = 0;
    if (!in.empty() && in.front().role == "system") {
        prefix = in.front().content + "\n\n";
        first = 1;
    }
    for (size_t i = first; i < in.size(); ++i) {
        std::string role = in[i].role == "assistant" ? "model" : in[i].role;
        out += "<start_of_turn>" + role + "\n" + (i == first ? prefix : "") + trim(in[i].content) + "<end_of_turn>\n";
    }
    if (gen) out += "<start_of_turn>model\n";
    return out;
}

std::string render_zephyr(const std::vector<ChatMessage>& msgs, bool gen) {
    std::string out;
    for (const ChatMessage& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
    if (gen) out += "<|assistant|>\n";
    return out;
}

}  // namespace

std::string ChatTemplate::apply(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
    switch (format) {
    case ChatFormat::CHATML:
        return bos_text + render_chatml(with_default_system(messages, default_system), add_generation_prompt);
    case ChatFormat::LLAMA3:
        return render_llama3(with_default_system(messages, default_system), add_generation_prompt, bos_text);
    case ChatFormat::LLAMA2: return render_llama2(messages, default_system, bos_text);
    case ChatFormat::GEMMA: return render_gemma(messages, add_generation_prompt, bos_text);
    case ChatFormat::ZEPHYR:
        return render_zephyr(with_default_system(messages, default_system), add_generation_prompt);
    }
    return {};
}

}  // namespace aprhost::core
