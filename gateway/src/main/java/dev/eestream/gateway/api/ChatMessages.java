package dev.eestream.gateway.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.eestream.core.chat.ChatMessage;
import java.util.ArrayList;
import java.util.List;

/** Reads a chat request's {@code messages} into the turns the model's chat template renders. */
public final class ChatMessages {
    private ChatMessages() {
    }

    public static List<ChatMessage> read(RequestBody body) {
        body.refuse("tools", "'tools' (function calling)");
        body.refuse("tool_choice", "'tool_choice'");
        body.refuse("functions", "'functions' (function calling)");
        body.refuse("function_call", "'function_call'");
        body.refuse("audio", "'audio'");
        body.optionalObject("response_format").ifPresent(f -> {
            if (!"text".equals(f.optionalString("type").orElse("text"))) {
                throw OpenAiException.unsupported("response_format", "a 'response_format' other than text");
            }
        });
        List<JsonNode> messages = body.optionalArray("messages")
                .orElseThrow(() -> OpenAiException.invalid("messages", "'messages' is required"));
        if (messages.isEmpty()) {
            throw OpenAiException.invalid("messages", "'messages' must hold at least one message");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            out.add(message(messages.get(i), "messages[" + i + "]"));
        }
        return out;
    }

    private static ChatMessage message(JsonNode m, String where) {
        if (!m.isObject()) {
            throw OpenAiException.invalid(where, where + " must be an object with 'role' and 'content'");
        }
        JsonNode role = m.get("role");
        if (role == null || !role.isTextual()) {
            throw OpenAiException.invalid(where + ".role", where + ".role is required");
        }
        String r = switch (role.asText()) {
            case "system", "developer" -> "system";
            case "user" -> "user";
            case "assistant" -> "assistant";
            default -> throw OpenAiException.unsupported(where + ".role", "the role '" + role.asText() + "'");
        };
        JsonNode calls = m.get("tool_calls");
        if (calls != null && !calls.isNull() && !calls.isEmpty()) {
            throw OpenAiException.unsupported(where + ".tool_calls", "'tool_calls' (function calling)");
        }
        return new ChatMessage(r, content(m.get("content"), where + ".content"));
    }

    /** A string, or an array of text parts joined in order; other part types are a 400. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            throw OpenAiException.invalid(where, where + " is required");
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (!c.isArray()) {
            throw OpenAiException.invalid(where, where + " must be a string or an array of text parts");
        }
        StringBuilder text = new StringBuilder();
        for (JsonNode part : c) {
            JsonNode type = part.get("type");
            if (type == null || !"text".equals(type.asText()) || part.get("text") == null || !part.get("text").isTextual()) {
                throw OpenAiException.unsupported(where, "content parts other than {\"type\": \"text\", \"text\": \"…\"}");
            }
            text.append(part.get("text").asText());
        }
        return text.toString();
    }
}
