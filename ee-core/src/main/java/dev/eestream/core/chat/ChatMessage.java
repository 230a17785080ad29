package dev.eestream.core.chat;

import dev.eestream.runtime.EeException;

/** One turn of a conversation as chat templates see it: {@code role} (system, user, assistant …) and {@code content}. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new EeException("a chat message needs a role");
        }
        if (content == null) {
            throw new EeException("the " + role + " message has no content");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
