"""ECMA-323 CSTA XML for Lync RCC: message classes and the hardened, sans-IO codec.

    message, namespace = decode_document(body)   # or decode(body)
    encode(MakeCallResponse(...), namespace) -> bytes
    except CstaDecodeError as error: encode(error.error_code, namespace)
"""
from .capabilities import SERVICE_LISTS
from .codec import decode, decode_document, encode
from .devices import NOT_KNOWN, NOT_REQUIRED, ConnectionID, DeviceAbsence, EventDevice
from .errors import CATEGORIES, CstaDecodeError, CstaEncodeError, ErrorCode
from .events import (
    EVENTS, ConferencedEvent, ConnectionClearedEvent, DeliveredEvent, DigitsGeneratedEvent,
    DivertedEvent, DoNotDisturbEvent, EstablishedEvent, FailedEvent, ForwardingEvent, HeldEvent,
    OriginatedEvent, RetrievedEvent, ServiceInitiatedEvent, TransferedEvent,
)
from .features import features_response, service_name
from .hardening import MAX_BYTES, MAX_DEPTH, MAX_ELEMENTS
from .namespaces import RCC_EXTENSION, Namespace
from .registry import MESSAGES
from .requests import (
    REQUESTS, AlternateCall, AnswerCall, ClearConnection, ConferenceCall, ConsultationCall,
    DeflectCall, GenerateDigits, GetCSTAFeatures, GetDoNotDisturb, GetForwarding, HoldCall,
    MakeCall, MonitorStart, MonitorStop, ReconnectCall, RequestSystemStatus, RetrieveCall,
    SetDoNotDisturb, SetForwarding, SingleStepTransferCall, SnapshotDevice, SystemStatus,
    TransferCall,
)
from .responses import (
    AlternateCallResponse, AnswerCallResponse, ClearConnectionResponse, ConferenceCallResponse,
    ConnectionListItem, ConsultationCallResponse, DeflectCallResponse, ForwardListItem,
    GenerateDigitsResponse, GetCSTAFeaturesResponse, GetDoNotDisturbResponse,
    GetForwardingResponse, HoldCallResponse, MakeCallResponse, MonitorStartResponse,
    MonitorStopResponse, ReconnectCallResponse, RequestSystemStatusResponse,
    RetrieveCallResponse, SetDoNotDisturbResponse, SetForwardingResponse,
    SingleStepTransferCallResponse, SnapshotDeviceResponse, SnapshotDeviceResponseInfo,
    SystemStatusResponse, TransferCallResponse,
)

ED3, ED4, ED5 = Namespace.ED3, Namespace.ED4, Namespace.ED5

__all__ = [name for name in dir() if not name.startswith("_")]
