package dev.eestream.gateway.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A request the gateway answers with an error, in OpenAI's shape: {@code {"error": {"message", "type", "param",
 * "code"}}} with a fitting HTTP status, so OpenAI SDKs raise their typed exceptions (BadRequest, NotFound …).
 */
public final class OpenAiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public OpenAiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400: something in the request is wrong or not supported; {@code param} names the field, or null. */
    public static OpenAiException invalid(String param, String message) {
        return new OpenAiException(400, "invalid_request_error", message, param, null);
    }

    /** 400 for a field the gateway does not support yet. */
    public static OpenAiException unsupported(String param, String what) {
        return new OpenAiException(400, "invalid_request_error", what + " is not supported by the eestream gateway", param,
                "unsupported_parameter");
    }

    public static OpenAiException missingApiKey() {
        return new OpenAiException(401, "invalid_request_error", "no API key given: send the header 'Authorization: Bearer KEY'",
                null, null);
    }

    public static OpenAiException wrongApiKey() {
        return new OpenAiException(401, "invalid_request_error", "incorrect API key", null, "invalid_api_key");
    }

    public static OpenAiException unknownModel(String model) {
        return new OpenAiException(404, "invalid_request_error", "the model '" + model + "' does not exist on this gateway "
                + "(GET /v1/models lists the models it holds client profiles for)", "model", "model_not_found");
    }

    public static OpenAiException notFound(String path) {
        return new OpenAiException(404, "invalid_request_error", "no such endpoint: " + path, null, "unknown_url");
    }

    public static OpenAiException bodyTooLarge(long limit) {
        return new OpenAiException(413, "invalid_request_error", "the request body is larger than this gateway accepts ("
                + limit + " bytes)", null, "request_too_large");
    }

    public static OpenAiException tooManyInFlight(int limit) {
        return new OpenAiException(429, "rate_limit_error", "too many requests in flight (at most " + limit
                + " at once); retry shortly", null, "rate_limit_exceeded");
    }

    public static OpenAiException noAnswerInTime(String detail) {
        return new OpenAiException(504, "timeout", "the processor did not answer in time: " + detail, null, "timeout");
    }

    /** 502: the processor's answer came back but cannot be used (undecodable, from another model or key). */
    public static OpenAiException badReply(String detail) {
        return new OpenAiException(502, "server_error", "the processor's answer cannot be used: " + detail, null, "bad_reply");
    }

    public static OpenAiException serverError(String message) {
        return new OpenAiException(500, "server_error", message, null, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }

    /** The JSON body: {@code {"error": {...}}}. */
    public ObjectNode toJson() {
        ObjectNode error = JsonNodeFactory.instance.objectNode();
        error.put("message", getMessage());
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        body.set("error", error);
        return body;
    }
}
