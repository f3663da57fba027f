// SPDX-License-Identifier: MIT
// Test contracts for hedgebot's chain follower: mock Raindex orderbooks that emit the
// real IOrderBookV4 / IOrderBookV5 event shapes (struct layouts of
// rain.orderbook.interface), ERC-20 tokens with symbol(), and a mock Pyth oracle that
// the orderbooks call inside the fill transaction, so debug_traceTransaction shows a
// real call to find.
pragma solidity ^0.8.19;

/// Rain decimal float: int32 exponent (high 32 bits) | int224 coefficient (low 224 bits).
type Float is bytes32;

// -- IOrderBookV4 structs -------------------------------------------------------------
struct IO {
    address token;
    uint8 decimals;
    uint256 vaultId;
}

struct EvaluableV3 {
    address interpreter;
    address store;
    bytes bytecode;
}

struct OrderV3 {
    address owner;
    EvaluableV3 evaluable;
    IO[] validInputs;
    IO[] validOutputs;
    bytes32 nonce;
}

struct SignedContextV1 {
    address signer;
    bytes32[] context;
    bytes signature;
}

struct TakeOrderConfigV3 {
    OrderV3 order;
    uint256 inputIOIndex;
    uint256 outputIOIndex;
    SignedContextV1[] signedContext;
}

struct ClearConfig {
    uint256 aliceInputIOIndex;
    uint256 aliceOutputIOIndex;
    uint256 bobInputIOIndex;
    uint256 bobOutputIOIndex;
    uint256 aliceBountyVaultId;
    uint256 bobBountyVaultId;
}

struct ClearStateChange {
    uint256 aliceOutput;
    uint256 bobOutput;
    uint256 aliceInput;
    uint256 bobInput;
}

// -- IOrderBookV5 structs -------------------------------------------------------------
struct IOV2 {
    address token;
    bytes32 vaultId;
}

struct EvaluableV4 {
    address interpreter;
    address store;
    bytes bytecode;
}

struct OrderV4 {
    address owner;
    EvaluableV4 evaluable;
    IOV2[] validInputs;
    IOV2[] validOutputs;
    bytes32 nonce;
}

struct TakeOrderConfigV4 {
    OrderV4 order;
    uint256 inputIOIndex;
    uint256 outputIOIndex;
    SignedContextV1[] signedContext;
}

struct ClearConfigV2 {
    uint256 aliceInputIOIndex;
    uint256 aliceOutputIOIndex;
    uint256 bobInputIOIndex;
    uint256 bobOutputIOIndex;
    bytes32 aliceBountyVaultId;
    bytes32 bobBountyVaultId;
}

struct ClearStateChangeV2 {
    Float aliceOutput;
    Float bobOutput;
    Float aliceInput;
    Float bobInput;
}

// -- Pyth -----------------------------------------------------------------------------
struct PythPrice {
    int64 price;
    uint64 conf;
    int32 expo;
    uint256 publishTime;
}

contract MockPyth {
    mapping(bytes32 => PythPrice) private prices;
    mapping(bytes32 => PythPrice) private emaPrices;

    function setPrice(bytes32 id, int64 price, uint64 conf, int32 expo, uint256 publishTime) external {
        prices[id] = PythPrice(price, conf, expo, publishTime);
        emaPrices[id] = PythPrice(price - 1, conf, expo, publishTime);
    }

    function getPriceNoOlderThan(bytes32 id, uint256) external view returns (PythPrice memory) {
        return _known(prices[id]);
    }

    function getPriceUnsafe(bytes32 id) external view returns (PythPrice memory) {
        return _known(prices[id]);
    }

    function getEmaPriceNoOlderThan(bytes32 id, uint256) external view returns (PythPrice memory) {
        return _known(emaPrices[id]);
    }

    function getEmaPriceUnsafe(bytes32 id) external view returns (PythPrice memory) {
        return _known(emaPrices[id]);
    }

    function _known(PythPrice memory p) private pure returns (PythPrice memory) {
        require(p.publishTime != 0, "PriceFeedNotFound");
        return p;
    }
}

/// What an order's expression does with the oracle during a fill: read the price.
abstract contract ReadsPyth {
    function _readPyth(address pyth, bytes32[] calldata feedIds) internal view {
        for (uint256 i = 0; i < feedIds.length; i++) {
            MockPyth(pyth).getPriceNoOlderThan(feedIds[i], 60);
        }
    }
}

contract MockOrderBookV4 is ReadsPyth {
    event TakeOrderV2(address sender, TakeOrderConfigV3 config, uint256 input, uint256 output);
    event ClearV2(address sender, OrderV3 alice, OrderV3 bob, ClearConfig clearConfig);
    event AfterClear(address sender, ClearStateChange clearStateChange);

    /// One take-order per (input, output) pair; `input`/`output` from the taker's side.
    function takeOrders(
        TakeOrderConfigV3 calldata config,
        uint256[] calldata inputs,
        uint256[] calldata outputs,
        address pyth,
        bytes32[] calldata feedIds
    ) external {
        _readPyth(pyth, feedIds);
        for (uint256 i = 0; i < inputs.length; i++) {
            emit TakeOrderV2(msg.sender, config, inputs[i], outputs[i]);
        }
    }

    function clear(
        OrderV3 calldata alice,
        OrderV3 calldata bob,
        ClearConfig calldata clearConfig,
        ClearStateChange calldata change,
        address pyth,
        bytes32[] calldata feedIds
    ) external {
        _readPyth(pyth, feedIds);
        emit ClearV2(msg.sender, alice, bob, clearConfig);
        emit AfterClear(msg.sender, change);
    }
}

contract MockOrderBookV5 is ReadsPyth {
    event TakeOrderV3(address sender, TakeOrderConfigV4 config, Float input, Float output);
    event ClearV3(address sender, OrderV4 alice, OrderV4 bob, ClearConfigV2 clearConfig);
    event AfterClearV2(address sender, ClearStateChangeV2 clearStateChange);

    /// One take-order per (input, output) pair; `input`/`output` from the taker's side.
    function takeOrders(
        TakeOrderConfigV4 calldata config,
        Float[] calldata inputs,
        Float[] calldata outputs,
        address pyth,
        bytes32[] calldata feedIds
    ) external {
        _readPyth(pyth, feedIds);
        for (uint256 i = 0; i < inputs.length; i++) {
            emit TakeOrderV3(msg.sender, config, inputs[i], outputs[i]);
        }
    }

    function clear(
        OrderV4 calldata alice,
        OrderV4 calldata bob,
        ClearConfigV2 calldata clearConfig,
        ClearStateChangeV2 calldata change,
        address pyth,
        bytes32[] calldata feedIds
    ) external {
        _readPyth(pyth, feedIds);
        emit ClearV3(msg.sender, alice, bob, clearConfig);
        emit AfterClearV2(msg.sender, change);
    }
}

contract MockERC20 {
    string public name;
    string public symbol;
    uint8 public decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }
}
