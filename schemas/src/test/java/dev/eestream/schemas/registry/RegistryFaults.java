package dev.eestream.schemas.registry;

import dev.eestream.kafka.local.registry.InMemorySchemaRegistryServer;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts a test registry's requests and makes the next ones fail, to test the client's retries. */
public final class RegistryFaults implements InMemorySchemaRegistryServer.RequestInterceptor {
    private final AtomicInteger requests = new AtomicInteger();
    private int failures;
    private int status;

    /** HTTP requests received so far, of every kind and outcome. */
    public int requestCount() {
        return requests.get();
    }

    /** The next {@code count} requests are answered with {@code status} (e.g. 503). */
    public synchronized void failNextRequests(int count, int status) {
        this.failures = count;
        this.status = status;
    }

    @Override
    public synchronized OptionalInt intercept(String method, String rawPath) {
        requests.incrementAndGet();
        if (failures > 0) {
            failures--;
            return OptionalInt.of(status);
        }
        return OptionalInt.empty();
    }
}
