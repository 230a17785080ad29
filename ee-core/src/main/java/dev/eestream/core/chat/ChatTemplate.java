package dev.eestream.core.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.eestream.core.tokenizer.TokenizerConfig;
import dev.eestream.runtime.EeException;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own Jinja chat template, rendered with Jinjava the way transformers' {@code apply_chat_template} renders
 * it: {@code trim_blocks} and {@code lstrip_blocks} on; variables {@code messages}, {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}; functions {@code raise_exception(msg)} and {@code strftime_now(format)}.
 *
 * <p>Jinjava runs Jinja syntax with Java underneath, so some Python-isms of real templates are missing: string
 * methods other than {@code .strip()} ({@code .lstrip()}, {@code .rstrip()}, {@code .upper()},
 * {@code .startswith()}, {@code .split()} gives a Java array …), {@code %} string formatting and {@code \\u}
 * escapes in string literals. Such a template fails with an {@link EeException} naming the problem, as does a filter
 * Jinjava does not have (Jinjava itself would silently render nothing). Thread-safe.
 */
public final class ChatTemplate {
    private static final String NOW = "__eestream_strftime_now";
    private static final JinjavaConfig CONFIG = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Clock clock;
    private final Jinjava jinjava;

    /**
     * @param bosToken the BOS token's text, or null when the model has none
     * @param eosToken the EOS token's text, or null when the model has none
     * @param clock    the time {@code strftime_now} gives
     */
    public ChatTemplate(String template, String bosToken, String eosToken, Clock clock) {
        if (template == null || template.isBlank()) {
            throw new EeException("the chat template is empty");
        }
        this.template = template;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.clock = clock;
        this.jinjava = new Jinjava(CONFIG);
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
    }

    /** The config's default chat template, with its BOS and EOS tokens. */
    public static ChatTemplate of(TokenizerConfig config) {
        return of(config, "default");
    }

    /** One of the config's named chat templates ({@code default}, {@code tool_use} …). */
    public static ChatTemplate of(TokenizerConfig config, String name) {
        String template = config.chatTemplate(name).orElseThrow(() -> new EeException(
                "the tokenizer config has no chat template named '" + name + "'"
                        + (config.namedChatTemplates().isEmpty() ? "" : "; it has " + config.namedChatTemplates().keySet())));
        return new ChatTemplate(template, config.bosToken().orElse(null), config.eosToken().orElse(null), Clock.systemDefaultZone());
    }

    /**
     * The prompt text of a conversation.
     *
     * @param addGenerationPrompt whether to end with the header that opens the assistant's reply
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", messages.stream().map(ChatTemplate::asMap).toList());
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        bindings.put(NOW, ZonedDateTime.now(clock));
        Context context = new FilterCheckingContext(jinjava.getGlobalContext(), bindings);
        try (var current = JinjavaInterpreter.closeablePushCurrent(new JinjavaInterpreter(jinjava, context, CONFIG)).get()) {
            String out = current.value().render(template);
            for (TemplateError e : current.value().getErrors()) {
                if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                    throw failure(e);
                }
            }
            return out;
        }
    }

    /** Called by templates to refuse a conversation (e.g. roles that do not alternate). */
    public static String raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** Called by templates for today's date (Llama 3.1's "Today Date"). */
    public static String strftimeNow(String format) {
        return PythonStrftime.format(format, (ZonedDateTime) JinjavaInterpreter.getCurrent().getContext().get(NOW));
    }

    private static Map<String, Object> asMap(ChatMessage m) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", m.role());
        map.put("content", m.content());
        return map;
    }

    private static EeException failure(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof RaisedByTemplate r) {
                return new EeException("the chat template refused the conversation: " + r.getMessage());
            }
            if (t instanceof EeException ee) {
                return ee;
            }
        }
        return new EeException("the chat template cannot be rendered by Jinjava, line " + error.getLineno() + ": "
                + error.getMessage());
    }

    /** The message of a template's {@code raise_exception}. */
    private static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) {
            super(message, null, false, false);
        }
    }

    /** Turns Jinjava's silent skip of an unknown filter into an error, since the output would be wrong. */
    private static final class FilterCheckingContext extends Context {
        FilterCheckingContext(Context parent, Map<String, ?> bindings) {
            super(parent, bindings);
        }

        @Override
        public Filter getFilter(String name) {
            Filter filter = super.getFilter(name);
            if (filter == null) {
                throw new EeException("the chat template uses the filter '" + name + "', which Jinjava does not have");
            }
            return filter;
        }
    }
}
