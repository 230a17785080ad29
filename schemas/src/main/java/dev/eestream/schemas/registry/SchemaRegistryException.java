package dev.eestream.schemas.registry;

import org.apache.kafka.common.errors.SerializationException;

import java.io.IOException;

/**
 * The schema registry could not answer a request: it was unreachable, or it answered with an HTTP
 * error. The message names the request (method and URL), the HTTP status and the registry's own
 * error code and message; it never contains credentials.
 *
 * <p>This means the registry, not the record, is the problem: a stream processor should not
 * dead-letter a record because of it.
 */
public class SchemaRegistryException extends SerializationException {

    private final String request;
    private final int status;
    private final int errorCode;

    /**
     * @param request   e.g. {@code GET https://registry:8081/schemas/ids/7}
     * @param status    the HTTP status, or 0 when no response came
     * @param errorCode the registry's {@code error_code}, or 0 when it gave none
     */
    public SchemaRegistryException(String message, String request, int status, int errorCode, Throwable cause) {
        super(message, cause);
        this.request = request;
        this.status = status;
        this.errorCode = errorCode;
    }

    /** The failed request: method and URL. */
    public String request() {
        return request;
    }

    /** The HTTP status, or 0 when no response came (I/O error, timeout, TLS failure). */
    public int status() {
        return status;
    }

    /** The registry's {@code error_code} (e.g. 40403 for an unknown schema), or 0. */
    public int errorCode() {
        return errorCode;
    }

    /** True for failures that may pass: I/O errors, HTTP 5xx and 429. */
    public boolean isRetriable() {
        return status == 0 ? getCause() instanceof IOException : status >= 500 || status == 429;
    }
}
