package dev.eestream.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.eestream.core.chat.ChatMessage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatMessagesTest {
    private static List<ChatMessage> read(String json) {
        return ChatMessages.read(RequestBody.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void rolesAndTextPartsBecomeTheTemplatesTurns() {
        assertEquals(List.of(ChatMessage.system("be brief"), ChatMessage.user("hello world"), ChatMessage.assistant("hi")),
                read("{\"messages\": [{\"role\": \"developer\", \"content\": \"be brief\"},"
                        + " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hello \"}, {\"type\": \"text\", \"text\": \"world\"}]},"
                        + " {\"role\": \"assistant\", \"content\": \"hi\", \"name\": \"bot\"}]}"));
    }

    @Test
    void whatTheGatewayCannotRenderIsA400() {
        assertEquals("messages", assertThrows(OpenAiException.class, () -> read("{}")).param());
        assertEquals("messages", assertThrows(OpenAiException.class, () -> read("{\"messages\": []}")).param());
        assertEquals("messages[0].role", assertThrows(OpenAiException.class,
                () -> read("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}")).param());
        assertEquals("messages[1].content", assertThrows(OpenAiException.class, () -> read("{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"x\"}, {\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"u\"}}]}]}")).param());
        assertEquals("tools", assertThrows(OpenAiException.class, () -> read("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                + " \"tools\": [{\"type\": \"function\"}]}")).param());
        assertEquals("response_format", assertThrows(OpenAiException.class, () -> read("{\"messages\": [{\"role\": \"user\", "
                + "\"content\": \"x\"}], \"response_format\": {\"type\": \"json_object\"}}")).param());
    }
}
