package dev.eestream.runtime.session;

import java.util.Objects;

/** How ONNX Runtime runs a model. Immutable; use {@link #builder()}. */
public final class SessionSettings {
    private final Device device;
    private final int intraOpThreads;
    private final boolean spinning;

    private SessionSettings(Builder b) {
        this.device = b.device;
        this.intraOpThreads = b.intraOpThreads;
        this.spinning = b.spinning;
    }

    public static SessionSettings defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Device device() {
        return device;
    }

    public int intraOpThreads() {
        return intraOpThreads;
    }

    public boolean spinning() {
        return spinning;
    }

    public static final class Builder {
        private Device device = Device.CPU;
        private int intraOpThreads;
        private boolean spinning;

        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device);
            return this;
        }

        /** Intra-op threads; 0 lets ONNX Runtime choose (one per core). */
        public Builder intraOpThreads(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("threads must be >= 0");
            }
            this.intraOpThreads = n;
            return this;
        }

        /**
         * Whether idle intra-op threads spin-wait. Off by default: with several sessions in one
         * process (one per model) spinning pools steal the cores the running session needs.
         */
        public Builder spinning(boolean on) {
            this.spinning = on;
            return this;
        }

        public SessionSettings build() {
            return new SessionSettings(this);
        }
    }
}
