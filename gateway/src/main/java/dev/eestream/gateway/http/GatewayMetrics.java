package dev.eestream.gateway.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** The gateway's own meters: requests by endpoint and status, their duration, and requests in flight. */
final class GatewayMetrics {
    private final PrometheusMeterRegistry registry;

    GatewayMetrics(PrometheusMeterRegistry registry, Semaphore inFlight, int maxInFlight) {
        this.registry = registry;
        Gauge.builder("eestream.gateway.requests.in.flight", () -> maxInFlight - inFlight.availablePermits())
                .description("Requests being answered").register(registry);
    }

    void record(String endpoint, int status, long startNanos) {
        Counter.builder("eestream.gateway.requests").tag("endpoint", endpoint).tag("status", Integer.toString(status))
                .register(registry).increment();
        Timer.builder("eestream.gateway.request.duration").tag("endpoint", endpoint).publishPercentileHistogram()
                .register(registry).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    String scrape() {
        return registry.scrape();
    }
}
