package dev.eestream.kafka.local.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Where each node of a local KRaft cluster listens: node ids 1…n, each a combined broker and controller
 * with a client port and a controller port on one host. The controllers form a static voter set, so the
 * layout is the only thing the nodes must agree on besides the cluster id.
 */
public record ClusterLayout(String host, List<NodePorts> nodes) {

    /** One node's id and ports. */
    public record NodePorts(int nodeId, int clientPort, int controllerPort) {
    }

    public ClusterLayout {
        nodes = List.copyOf(nodes);
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("a cluster needs at least one node");
        }
    }

    /**
     * Picks every port at once, before any node starts (each node must know all controllers): the first node's
     * client port is {@code firstClientPort} unless that is 0; every other port is one that was free a moment ago.
     */
    public static ClusterLayout pick(String host, int size, int firstClientPort) {
        List<NodePorts> nodes = new ArrayList<>();
        List<ServerSocket> held = new ArrayList<>();
        try {
            // Held open until all are picked, so no two picks return the same port.
            for (int id = 1; id <= size; id++) {
                int client = id == 1 && firstClientPort != 0 ? firstClientPort : hold(host, held);
                nodes.add(new NodePorts(id, client, hold(host, held)));
            }
        } finally {
            for (ServerSocket socket : held) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // closing a probe socket cannot lose anything
                }
            }
        }
        return new ClusterLayout(host, nodes);
    }

    private static int hold(String host, List<ServerSocket> held) {
        try {
            ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(host));
            held.add(socket);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("No free port on " + host, e);
        }
    }

    public int size() {
        return nodes.size();
    }

    public NodePorts node(int nodeId) {
        return nodes.stream().filter(node -> node.nodeId() == nodeId).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no node " + nodeId + " in a cluster of " + size()));
    }

    /** {@code controller.quorum.voters}: {@code 1@host:port,2@host:port,…}. */
    public String voters() {
        return nodes.stream().map(node -> node.nodeId() + "@" + host + ":" + node.controllerPort()).collect(Collectors.joining(","));
    }

    /** {@code bootstrap.servers} naming every node. */
    public String bootstrapServers() {
        return nodes.stream().map(node -> host + ":" + node.clientPort()).collect(Collectors.joining(","));
    }
}
